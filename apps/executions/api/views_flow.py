"""The flow an execution runs, as Kestra's `FlowForExecution` (KESTRA.md §7.2): the parsed
revision without its source, for clients that draw an execution's topology or read its inputs.

`GET /executions/{id}/flow` answers the revision that execution ran; `GET /executions/flows/
{namespace}/{flowId}?revision=` any revision (the latest without one). Weir has no draft
revisions, so `draft` is always false.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.executions.access import readable
from apps.flows import services as flow_services
from apps.flows.api.serializers import flow_json


def flow_for_execution(user: Any, namespace: str, flow_id: str, revision: int | None) -> dict[str, Any]:
    if revision is None:
        flow = flow_services.get_flow(user, namespace, flow_id)
        return {**flow_json(flow, source=False), "draft": False}
    rev = flow_services.get_revision(user, namespace, flow_id, revision)
    return {**flow_json(rev.flow, revision=rev, source=False), "draft": False}


class ExecutionFlow(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["executions"],
                   summary="The flow revision an execution runs (without its source)")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        return Response(flow_for_execution(request.user, row.namespace, row.flow_id, row.flow_revision))


class FlowForExecution(APIView):
    @extend_schema(parameters=[OpenApiParameter("revision", int)], responses={200: OpenApiTypes.OBJECT},
                   tags=["executions"], summary="A flow revision as executions see it (without its source)")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        raw = request.query_params.get("revision") or None
        if raw is not None and not raw.isdigit():
            raise BadRequest(f"revision must be a positive integer, got {raw!r}")
        return Response(flow_for_execution(request.user, namespace, flow_id, int(raw) if raw else None))
