"""The lists and figures Kestra's UI (and kestrapy) asks the executions API for:
`executions/namespaces` (where the caller can run something), `executions/namespaces/{ns}/flows`
(what), `…/flows/{flowId}/average-duration` (how long it usually takes), `executions/latest`
(the last run of each of some flows) and `executions/distinct-field-values` (the values a
search filter can take)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.engine.states import TERMINATED
from apps.executions.api.views_flow import flow_for_execution
from apps.executions.models import Execution
from apps.executions.records import search
from apps.flows.models import Flow
from apps.namespaces.permissions import Action, require, visible

TAG = ["executions"]
RECENT = 50
"""How many of a flow's last terminated executions its average duration is taken over."""


def _executable(user: Any) -> Any:
    """Flows that can run (not deleted, not disabled) among those the caller may read, as Kestra
    lists them; running one still needs EXECUTE on its namespace."""
    return visible(Flow.objects.filter(deleted=False, disabled=False), user, Action.READ)


class ExecutableNamespaces(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="Namespaces holding a flow that can run")
    def get(self, request: Request) -> Response:
        return Response(list(_executable(request.user).values_list("namespace", flat=True)
                             .distinct().order_by("namespace")))


class ExecutableFlows(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="The flows of a namespace that can run (FlowForExecution each)")
    def get(self, request: Request, namespace: str) -> Response:
        require(request.user, Action.READ, namespace)
        flows = _executable(request.user).filter(namespace=namespace).order_by("flow_id")
        return Response([flow_for_execution(request.user, f.namespace, f.flow_id, None) for f in flows])


def _ms(start: str | None, end: str | None) -> int | None:
    try:
        return round((datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds() * 1000)
    except ValueError:
        return None


class AverageDuration(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary=f"Average duration (ms) of the flow's last {RECENT} terminated executions")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        require(request.user, Action.READ, namespace, f"Flow '{namespace}.{flow_id}'")
        rows = (Execution.objects.filter(namespace=namespace, flow_id=flow_id, deleted=False,
                                         state__in=[s.value for s in TERMINATED],
                                         start_date__isnull=False, end_date__isnull=False)
                .order_by("-created").values_list("start_date", "end_date")[:RECENT])
        durations = [d for d in (_ms(start, end) for start, end in rows) if d is not None]
        if not durations:
            return Response({"count": 0})
        return Response({"avgDurationMs": round(sum(durations) / len(durations)), "count": len(durations)})


class Latest(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="The latest execution of each listed flow [{namespace, id}] (flows never run are left out)")
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, list) or not all(
                isinstance(f, dict) and isinstance(f.get("namespace"), str) and isinstance(f.get("id"), str)
                for f in body):
            raise BadRequest("the body must be a JSON list of {namespace, id}")
        readable = visible(Execution.objects.filter(deleted=False), request.user, Action.READ)
        answer = []
        for item in body:
            row = readable.filter(namespace=item["namespace"], flow_id=item["id"]).order_by("-created").first()
            if row is not None:
                answer.append({"id": row.id, "flowId": row.flow_id, "namespace": row.namespace,
                               "startDate": row.start_date or row.created.isoformat(), "status": row.state})
        return Response(answer)


FIELDS = {"NAMESPACE": "namespace", "FLOW_ID": "flow_id", "STATE": "state"}
"""The QueryFilter fields (by enum name) whose distinct values are listed."""


class DistinctFieldValues(APIView):
    @extend_schema(parameters=[OpenApiParameter("field", str, required=True, enum=sorted(FIELDS)),
                               OpenApiParameter("size", int), OpenApiParameter("namespace", str),
                               OpenApiParameter("flowId", str)],
                   responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="The distinct values of one search field among the executions a search finds")
    def get(self, request: Request) -> Response:
        params = request.query_params
        field = str(params.get("field", "")).upper()
        if field not in FIELDS:
            raise BadRequest(f"query parameter `field` must be one of {', '.join(sorted(FIELDS))}")
        search.refuse_unknown(params, (search.EXECUTION_PARAMS - {"page", "sort"}) | {"field"})
        try:
            size = int(params.get("size") or 100)
        except ValueError:
            raise BadRequest("query parameter `size` must be an integer") from None
        if not 1 <= size <= 10_000:
            raise BadRequest("query parameter `size` must be between 1 and 10000")
        qs = search.executions(request.user, params, states=params.getlist("state"), labels=params.getlist("labels"))
        column = FIELDS[field]
        return Response(list(qs.order_by(column).values_list(column, flat=True).distinct()[:size]))
