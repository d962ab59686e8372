"""Flows REST API (KESTRA.md §7.1). Thin: parse the request, call one service, shape the reply."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.parsers import YamlParserMatchingAnything, YamlSourceParser
from apps.core.errors import BadRequest, NotFound
from apps.flows import archive, dependencies, search, services
from apps.flows.api import bulk
from apps.flows.api.serializers import flow_json, flow_summary, revision_json, validation_json
from apps.flows.graph import build_graph
from apps.flows.models import Flow
from apps.namespaces.permissions import Action, require

YAML_BODY = {"application/x-yaml": {"type": "string"}}
SEARCH_PARAMS = {"q", "namespace", "labels", "page", "size", "sort", "scope"}


def _source(request: Request) -> str:
    data = request.data
    if not isinstance(data, str):
        raise BadRequest("send the flow as YAML text with Content-Type: application/x-yaml")
    if not data.strip():
        raise BadRequest("the request body is empty: send the flow's YAML source")
    return data


def _bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise BadRequest(f"{name} must be true or false, got {raw!r}")


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from exc


def _if_match(request: Request) -> int | None:
    """The revision an update is based on: `If-Match: "3"` (or `?baseRevision=3`)."""
    raw = request.headers.get("If-Match") or request.query_params.get("baseRevision")
    if not raw or raw == "*":
        return None
    raw = raw.strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"If-Match must be a revision number, got {raw!r}") from exc


class FlowCollection(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(request=YAML_BODY, responses={200: OpenApiTypes.OBJECT},
                   summary="Create a flow from YAML", tags=["flows"])
    def post(self, request: Request) -> Response:
        flow = services.create_flow(request.user, _source(request))
        return Response(flow_json(flow), status=200, headers={"ETag": f'"{flow.revision}"'})


class FlowSearch(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str), OpenApiParameter("namespace", str),
                    OpenApiParameter("labels", str, many=True, description="key:value, repeatable"),
                    OpenApiParameter("page", int), OpenApiParameter("size", int),
                    OpenApiParameter("sort", str, description="field:asc|desc; fields: "
                                     + ", ".join(sorted(search.SORT_FIELDS)))],
        responses={200: OpenApiTypes.OBJECT}, summary="Search flows", tags=["flows"])
    def get(self, request: Request) -> Response:
        page = search.search(request.user, request.query_params, request.query_params.getlist("labels"),
                             SEARCH_PARAMS)
        return Response({"results": [flow_summary(f) for f in page.results], "total": page.total})


class DistinctNamespaces(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Namespaces that have flows", tags=["flows"])
    def get(self, request: Request) -> Response:
        qs = search.filtered(request.user).values_list("namespace", flat=True).distinct().order_by("namespace")
        return Response(list(qs))


class Validate(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(request=YAML_BODY, responses={200: OpenApiTypes.OBJECT},
                   summary="Validate flows (multi-document YAML)", tags=["flows"])
    def post(self, request: Request) -> Response:
        results = services.validate_many(_source(request))
        out = []
        for i, result in enumerate(results):
            data = result.data if isinstance(result.data, dict) else {}
            latest = Flow.objects.filter(namespace=data.get("namespace"), flow_id=data.get("id"),
                                         deleted=False).values_list("revision", flat=True).first()
            out.append(validation_json(i, result, latest))
        return Response(out)


class GraphOfSource(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(request=YAML_BODY, responses={200: OpenApiTypes.OBJECT},
                   summary="Topology of an unsaved flow", tags=["flows"])
    def post(self, request: Request) -> Response:
        result = services.validate(_source(request))
        result.raise_for_problems()
        return Response(build_graph(result.flow or {}))


class Bulk(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(request=YAML_BODY, parameters=[OpenApiParameter("delete", bool)],
                   responses={200: OpenApiTypes.OBJECT}, summary="Create or update many flows", tags=["flows"])
    def post(self, request: Request) -> Response:
        return Response(services.deploy(request.user, _source(request), namespace=None, delete=False))


class Import(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {
        "fileUpload": {"type": "string", "format": "binary"}}}},
        responses={200: OpenApiTypes.OBJECT}, summary="Import a .zip or multi-document .yml", tags=["flows"])
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("fileUpload")
        if upload is None:
            raise BadRequest("send the file in the multipart part 'fileUpload'")
        sources = archive.read_sources(upload.read(), upload.name or "")
        joined = "\n---\n".join(text for _, text in sources)
        outcome = services.deploy(request.user, joined, namespace=None, delete=False)
        return Response(outcome)


class ExportByQuery(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("namespace", str),
                               OpenApiParameter("labels", str, many=True)],
                   responses={(200, "application/zip"): OpenApiTypes.BINARY},
                   summary="Export flows as a zip", tags=["flows"])
    def get(self, request: Request) -> HttpResponse:
        flows = bulk.by_query(request)
        return _zip(flows)


class ExportByIds(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": {"type": "array", "items": {"type": "object", "properties": {
        "namespace": {"type": "string"}, "id": {"type": "string"}}}}},
        responses={(200, "application/zip"): OpenApiTypes.BINARY}, summary="Export flows by id", tags=["flows"])
    def post(self, request: Request) -> HttpResponse:
        flows = bulk.listed(request.user, bulk.ids(request.data))
        return _zip(flows)


class DeleteByIds(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": {"type": "array", "items": {"type": "object"}}},
                   responses={200: OpenApiTypes.OBJECT}, summary="Delete flows by id", tags=["flows"])
    def delete(self, request: Request) -> Response:
        return Response({"count": bulk.delete(request.user, bulk.listed(request.user, bulk.ids(request.data)))})


def _zip(flows: Any) -> HttpResponse:
    response = HttpResponse(archive.export_zip(flows), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="flows.zip"'
    return response


class NamespaceFlows(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Flows of one namespace", tags=["flows"],
                   operation_id="v1_flows_namespace_list")
    def get(self, request: Request, namespace: str) -> Response:
        flows = search.filtered(request.user).filter(namespace=namespace).order_by("flow_id")
        return Response([flow_json(f) for f in flows])

    @extend_schema(request=YAML_BODY, parameters=[OpenApiParameter("delete", bool)],
                   responses={200: OpenApiTypes.OBJECT},
                   summary="Replace a namespace's flows (deletes the others unless delete=false)", tags=["flows"],
                   operation_id="v1_flows_namespace_deploy")
    def post(self, request: Request, namespace: str) -> Response:
        return Response(services.deploy(request.user, _source(request), namespace=namespace,
                                        delete=_bool(request, "delete", True)))


class FlowDetail(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(parameters=[OpenApiParameter("source", bool), OpenApiParameter("revision", int),
                               OpenApiParameter("allowDeleted", bool)],
                   responses={200: OpenApiTypes.OBJECT}, summary="Get a flow", tags=["flows"])
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        revision = _int_param(request, "revision")
        with_source = _bool(request, "source", True)
        if revision is not None:
            rev = services.get_revision(request.user, namespace, flow_id, revision)
            return Response(flow_json(rev.flow, revision=rev, source=with_source))
        flow = services.get_flow(request.user, namespace, flow_id,
                                 allow_deleted=_bool(request, "allowDeleted", False))
        return Response(flow_json(flow, source=with_source), headers={"ETag": f'"{flow.revision}"'})

    @extend_schema(request=YAML_BODY, responses={200: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER,
                                                description="Revision the update is based on; 409 if stale")],
                   summary="Update a flow", tags=["flows"])
    def put(self, request: Request, namespace: str, flow_id: str) -> Response:
        outcome = services.update_flow(request.user, namespace, flow_id, _source(request), _if_match(request))
        return Response(flow_json(outcome.flow), headers={"ETag": f'"{outcome.flow.revision}"'})

    @extend_schema(responses={204: None}, summary="Delete a flow (soft)", tags=["flows"])
    def delete(self, request: Request, namespace: str, flow_id: str) -> Response:
        services.delete_flow(request.user, namespace, flow_id)
        return Response(status=204)


class FlowRevisions(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="All revisions of a flow", tags=["flows"])
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        return Response([revision_json(r) for r in services.revisions(request.user, namespace, flow_id)])


class FlowGraph(APIView):
    @extend_schema(parameters=[OpenApiParameter("revision", int)], responses={200: OpenApiTypes.OBJECT},
                   summary="Topology graph of a saved flow", tags=["flows"])
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        revision = _int_param(request, "revision")
        if revision is not None:
            text = services.get_revision(request.user, namespace, flow_id, revision).source
        else:
            text = services.get_flow(request.user, namespace, flow_id).source
        return Response(services.graph_of(text))


class FlowTask(APIView):
    @extend_schema(parameters=[OpenApiParameter("revision", int)], responses={200: OpenApiTypes.OBJECT},
                   summary="One task definition", tags=["flows"])
    def get(self, request: Request, namespace: str, flow_id: str, task_id: str) -> Response:
        revision = _int_param(request, "revision")
        text = (services.get_revision(request.user, namespace, flow_id, revision).source if revision is not None
                else services.get_flow(request.user, namespace, flow_id).source)
        task = _find_task(services.parsed(text), task_id)
        if task is None:
            raise NotFound(f"flow {namespace}.{flow_id} has no task {task_id!r}")
        return Response(task)


def _find_task(node: Any, task_id: str) -> dict[str, Any] | None:
    if isinstance(node, dict):
        if node.get("id") == task_id and "type" in node:
            return node
        children = [v for k, v in node.items() if k not in {"inputs", "triggers", "outputs", "labels"}]
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_task(child, task_id)
        if found is not None:
            return found
    return None


__all__ = ["YamlSourceParser"]


class FlowDependencies(APIView):
    @extend_schema(parameters=[OpenApiParameter("destinationOnly", bool), OpenApiParameter("expandAll", bool)],
                   responses={200: OpenApiTypes.OBJECT}, tags=["flows"],
                   summary="Flows this flow starts (Subflow) and that start it (Flow trigger)")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        services.get_flow(request.user, namespace, flow_id)
        return Response(dependencies.of_flow(request.user, namespace, flow_id,
                                             destination_only=_bool(request, "destinationOnly", False),
                                             expand_all=_bool(request, "expandAll", False)))


class NamespaceDependencies(APIView):
    @extend_schema(parameters=[OpenApiParameter("destinationOnly", bool)], responses={200: OpenApiTypes.OBJECT},
                   tags=["flows"], summary="Dependencies of the flows of one namespace")
    def get(self, request: Request, namespace: str) -> Response:
        require(request.user, Action.READ, namespace)
        return Response(dependencies.of_namespace(request.user, namespace,
                                                  destination_only=_bool(request, "destinationOnly", False)))
