"""Executions REST API (KESTRA.md §7.2). Thin: check access, parse the request, call one service.

Access: READ to look, EXECUTE to start and drive executions, WRITE to delete them. An execution
(or flow) the caller may not read answers 404, never 403 (apps.executions.access).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest, Conflict
from apps.engine.states import TERMINATED, State
from apps.executions import files, preview, queuectl, services
from apps.executions.access import allowed, readable
from apps.executions.api import inputs, introspect
from apps.executions.api.parsers import INPUT_PARSERS, PlainTextParser, inputs_from
from apps.executions.api.serializers import execution_json, full_execution_json
from apps.executions.api.shapes import file_metas_json
from apps.executions.models import Execution
from apps.executions.records import search
from apps.flows import drafts as flow_drafts
from apps.flows import services as flow_services
from apps.flows.search import parse_labels
from apps.namespaces.permissions import Action, can

TAG = ["executions"]
OBJECT = {200: OpenApiTypes.OBJECT}
INPUTS_BODY = {"multipart/form-data": {"type": "object", "additionalProperties": True},
               "application/json": {"type": "object", "additionalProperties": True}}
CREATE_PARAMS = [
    OpenApiParameter("labels", str, many=True, description="key:value, repeatable"),
    OpenApiParameter("wait", bool, description="block until the execution is terminated"),
    OpenApiParameter("revision", int), OpenApiParameter("scheduleDate", str, description="ISO-8601 date-time"),
]
SEARCH_PARAMS = [
    OpenApiParameter("q", str), OpenApiParameter("namespace", str, description="prefix, children included"),
    OpenApiParameter("flowId", str), OpenApiParameter("state", str, many=True),
    OpenApiParameter("labels", str, many=True, description="key:value, repeatable"),
    OpenApiParameter("startDate", str), OpenApiParameter("endDate", str),
    OpenApiParameter("timeRange", str, description="ISO-8601 duration, e.g. PT1H"),
    OpenApiParameter("triggerExecutionId", str), OpenApiParameter("childFilter", str, enum=["CHILD", "MAIN"]),
    OpenApiParameter("page", int), OpenApiParameter("size", int),
    OpenApiParameter("sort", str, description="field:asc|desc; fields: " + ", ".join(sorted(search.EXECUTION_SORT))),
]


def _bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if str(raw).lower() in {"true", "1", "yes"}:
        return True
    if str(raw).lower() in {"false", "0", "no"}:
        return False
    raise BadRequest(f"{name} must be true or false, got {raw!r}")


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from exc


def _with_url(request: Request, row: Execution, data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "url": request.build_absolute_uri(reverse("ui:execution", args=[row.id]))}


def _executable_flow(request: Request, namespace: str, flow_id: str) -> None:
    """404 for a flow the caller cannot read, 403 for one they may read but not execute."""
    flow_services.get_flow(request.user, namespace, flow_id)
    if not can(request.user, Action.EXECUTE, namespace):
        raise PermissionDenied(f"you may not execute flows in {namespace!r}")


class CreateExecution(APIView):
    parser_classes = INPUT_PARSERS

    @extend_schema(request=INPUTS_BODY, parameters=CREATE_PARAMS, responses=OBJECT, tags=TAG,
                   summary="Create (trigger) an execution; inputs as multipart fields or a JSON object")
    def post(self, request: Request, namespace: str, flow_id: str) -> Response:
        if _int(request, "revision") is None:
            flow_drafts.refuse_pending(request.user, namespace, flow_id)  # 409: the latest is an invalid draft
        _executable_flow(request, namespace, flow_id)
        labels = [{"key": k, "value": v} for k, v in parse_labels(request.query_params.getlist("labels")).items()]
        row = services.create_execution(namespace, flow_id, inputs=inputs_from(request), labels=labels,
                                        revision=_int(request, "revision"),
                                        schedule_date=request.query_params.get("scheduleDate") or None)
        if _bool(request, "wait", False):
            row = services.wait(row.id, timeout=float(getattr(settings, "WEIR_EXECUTION_WAIT_SECONDS", 300)))
            return Response(_with_url(request, row, full_execution_json(row)))
        return Response(_with_url(request, row, execution_json(row)))


class ValidateInputs(APIView):
    parser_classes = INPUT_PARSERS

    @extend_schema(request=INPUTS_BODY, parameters=[OpenApiParameter("revision", int)], responses=OBJECT,
                   tags=TAG, summary="Dry-run input validation: per input {id, enabled, value, errors}")
    def post(self, request: Request, namespace: str, flow_id: str) -> Response:
        _executable_flow(request, namespace, flow_id)
        declarations = inputs.declarations(namespace, flow_id, _int(request, "revision"))
        return Response({"namespace": namespace, "id": flow_id,
                         "inputs": inputs.validate_inputs(declarations, inputs_from(request))})


class ExecutionSearch(APIView):
    @extend_schema(parameters=SEARCH_PARAMS, responses=OBJECT, tags=TAG, summary="Search executions")
    def get(self, request: Request) -> Response:
        params = request.query_params
        page = search.search_executions(request.user, params, params.getlist("state"), params.getlist("labels"))
        return Response({"results": [execution_json(r) for r in page.results], "total": page.total})


class FlowExecutions(APIView):
    @extend_schema(parameters=[OpenApiParameter("namespace", str, required=True),
                               OpenApiParameter("flowId", str, required=True), OpenApiParameter("page", int),
                               OpenApiParameter("size", int), OpenApiParameter("sort", str)],
                   responses=OBJECT, tags=TAG, summary="Executions of one flow", operation_id="executions_of_flow")
    def get(self, request: Request) -> Response:
        params = request.query_params
        if not params.get("namespace") or not params.get("flowId"):
            raise BadRequest("namespace and flowId are required (use /executions/search for anything else)")
        search.refuse_unknown(params, {"namespace", "flowId", "page", "size", "sort"})
        qs = search.executions(request.user, {"flowId": params["flowId"]}).filter(namespace=params["namespace"])
        order = search.parse_sort(params.get("sort"), search.EXECUTION_SORT, ["-created", "-pk"])
        page = search.paginate(qs.order_by(*order), params)
        return Response({"results": [execution_json(r) for r in page.results], "total": page.total})


class ExecutionDetail(APIView):
    @extend_schema(responses=OBJECT, tags=TAG, summary="Get an execution with its task runs",
                   operation_id="execution_get")
    def get(self, request: Request, execution_id: str) -> Response:
        return Response(full_execution_json(readable(request.user, execution_id)))

    @extend_schema(parameters=[OpenApiParameter("deleteLogs", bool), OpenApiParameter("deleteMetrics", bool),
                               OpenApiParameter("deleteStorage", bool)],
                   responses={204: None}, tags=TAG, summary="Delete a terminated execution")
    def delete(self, request: Request, execution_id: str) -> Response:
        row = allowed(request.user, execution_id, Action.WRITE)
        if not (_bool(request, "deleteLogs", True) and _bool(request, "deleteMetrics", True)):
            raise BadRequest("an execution's logs and metrics are always deleted with it")
        if State(row.state) not in TERMINATED:
            raise Conflict(f"Execution '{execution_id}' is {row.state}: kill it before deleting it")
        if _bool(request, "deleteStorage", True):
            files.delete_all(row)
        services.delete(execution_id)
        return Response(status=204)


class Kill(APIView):
    @extend_schema(parameters=[OpenApiParameter("isOnKillCascade", bool)], responses={202: OpenApiTypes.OBJECT},
                   tags=TAG, summary="Kill an execution (and, by default, its subflow executions)")
    def delete(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        row = services.kill(execution_id, cascade=_bool(request, "isOnKillCascade", True))
        return Response(execution_json(row), status=202)


class Restart(APIView):
    @extend_schema(request=None, parameters=[OpenApiParameter("revision", int)], responses=OBJECT, tags=TAG,
                   summary="Restart from the failed task runs (same id; a new one with another revision)")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        row = services.restart(execution_id, revision=_int(request, "revision"))
        return Response(_with_url(request, row, full_execution_json(row)))


class Replay(APIView):
    @extend_schema(request=None, parameters=[OpenApiParameter("taskRunId", str), OpenApiParameter("revision", int)],
                   responses=OBJECT, tags=TAG, summary="Replay as a new execution (from a task run if given)")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        row = services.replay(execution_id, task_run_id=request.query_params.get("taskRunId") or None,
                              revision=_int(request, "revision"))
        return Response(_with_url(request, row, full_execution_json(row)))


class Resume(APIView):
    parser_classes = INPUT_PARSERS

    @extend_schema(request=INPUTS_BODY, responses=OBJECT, tags=TAG,
                   summary="Resume a PAUSED execution (onResume inputs as multipart fields or JSON)")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        return Response(full_execution_json(services.resume(execution_id, inputs_from(request))))


class ResumeValidate(APIView):
    parser_classes = INPUT_PARSERS

    @extend_schema(request=INPUTS_BODY, responses=OBJECT, tags=TAG, summary="Dry-run onResume inputs")
    def post(self, request: Request, execution_id: str) -> Response:
        row = allowed(request.user, execution_id, Action.EXECUTE)
        if row.state != State.PAUSED.value:
            raise Conflict(f"Execution '{execution_id}' is {row.state}: only a PAUSED execution can be resumed")
        return Response({"id": row.id, "inputs": inputs.validate_inputs(inputs.on_resume_declarations(row),
                                                                       inputs_from(request))})


class Pause(APIView):
    @extend_schema(request=None, responses=OBJECT, tags=TAG, summary="Pause a RUNNING execution")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        return Response(execution_json(services.pause(execution_id)))


class ChangeStatus(APIView):
    @extend_schema(request=None, parameters=[OpenApiParameter("status", str, required=True)], responses=OBJECT,
                   tags=TAG, summary="Change a terminated execution's state to another terminal state")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        status = request.query_params.get("status")
        if not status:
            raise BadRequest("status is required, e.g. ?status=SUCCESS")
        return Response(execution_json(services.change_status(execution_id, status.upper())))


class TaskRunState(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": {"type": "object", "properties": {
        "taskRunId": {"type": "string"}, "state": {"type": "string"}}}}, responses=OBJECT, tags=TAG,
        summary="Force a task run's state; the execution continues from there")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        body = request.data if isinstance(request.data, dict) else {}
        task_run_id, state = body.get("taskRunId"), body.get("state")
        if not isinstance(task_run_id, str) or not isinstance(state, str):
            raise BadRequest('send {"taskRunId": "…", "state": "SUCCESS"}')
        return Response(full_execution_json(services.set_task_run_state(execution_id, task_run_id, state.upper())))


class Labels(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": {"type": "array", "items": {"type": "object", "properties": {
        "key": {"type": "string"}, "value": {"type": "string"}}}}}, responses=OBJECT, tags=TAG,
        summary="Replace a terminated execution's labels (system labels are kept)")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        data = request.data
        if not isinstance(data, list) or not all(
                isinstance(i, dict) and isinstance(i.get("key"), str) and i.get("key") and "value" in i
                for i in data):
            raise BadRequest('send a JSON list of {"key": …, "value": …} objects')
        return Response(execution_json(services.set_labels(execution_id, data)))


class Unqueue(APIView):
    @extend_schema(request=None, parameters=[OpenApiParameter("state", str, enum=["RUNNING", "CANCELLED", "FAILED"])],
                   responses=OBJECT, tags=TAG, summary="Take a QUEUED execution out of its queue")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        return Response(execution_json(queuectl.unqueue(execution_id, request.query_params.get("state") or "RUNNING")))


class ForceRun(APIView):
    @extend_schema(request=None, responses=OBJECT, tags=TAG,
                   summary="Start a CREATED or QUEUED execution now (a PAUSED one is resumed)")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        return Response(execution_json(queuectl.force_run(execution_id)))


class ExecutionFile(APIView):
    @extend_schema(parameters=[OpenApiParameter("path", str, required=True, description="kestra:///… URI")],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, tags=TAG,
                   summary="Download one of the execution's files")
    def get(self, request: Request, execution_id: str) -> FileResponse:
        row = readable(request.user, execution_id)
        name = files.name_of(row, _path(request))
        return FileResponse(files.storage().open(name, "rb"), as_attachment=True,
                            filename=name.rsplit("/", 1)[-1])


class ExecutionFileMetas(APIView):
    @extend_schema(parameters=[OpenApiParameter("path", str, required=True)], responses=OBJECT, tags=TAG,
                   summary="Size of one of the execution's files")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        return Response(file_metas_json(files.storage().size(files.name_of(row, _path(request)))))


class ExecutionFilePreview(APIView):
    @extend_schema(parameters=[OpenApiParameter("path", str, required=True),
                               OpenApiParameter("maxRows", int, description="Rows to read (1-5000, default 100)"),
                               OpenApiParameter("encoding", str, description="Text encoding (default UTF-8)")],
                   responses=OBJECT, tags=TAG, summary="First rows of one of the execution's files")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        name = files.name_of(row, _path(request))
        raw_rows = request.query_params.get("maxRows") or str(preview.DEFAULT_ROWS)
        if not raw_rows.isdigit():
            raise BadRequest(f"maxRows must be a number, got {raw_rows!r}")
        store = files.storage()
        with store.open(name, "rb") as handle:
            return Response(preview.preview(handle, name, store.size(name), int(raw_rows),
                                            request.query_params.get("encoding") or "utf-8"))


def _path(request: Request) -> str:
    path = request.query_params.get("path")
    if not path:
        raise BadRequest("path is required: ?path=kestra:///…")
    return str(path)


class Eval(APIView):
    parser_classes = [PlainTextParser]

    @extend_schema(request={"text/plain": {"type": "string"}}, responses=OBJECT, tags=TAG,
                   summary="Evaluate an expression in a task run's context: {result} or {error}")
    def post(self, request: Request, execution_id: str, task_run_id: str) -> Response:
        row = allowed(request.user, execution_id, Action.WRITE)  # it runs arbitrary expressions
        if not isinstance(request.data, str) or not request.data.strip():
            raise BadRequest("send the expression as the text/plain body")
        return Response(introspect.evaluate(row, task_run_id, request.data))


class ExecutionGraph(APIView):
    @extend_schema(responses=OBJECT, tags=TAG,
                   summary="The pinned flow revision's topology, plus the execution's task runs")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        return Response(introspect.graph(row))

