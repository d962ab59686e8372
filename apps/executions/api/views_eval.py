"""`POST /executions/{id}/actions/eval` (Kestra 1.x; KESTRA.md §7.2): an expression rendered in
the execution-level context (the flow outputs' context), beside `…/eval/{taskRunId}`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.executions.access import allowed
from apps.executions.api import introspect
from apps.executions.api.parsers import PlainTextParser
from apps.namespaces.permissions import Action


class EvalExecution(APIView):
    parser_classes = [PlainTextParser]

    @extend_schema(request={"text/plain": {"type": "string"}}, responses={200: OpenApiTypes.OBJECT},
                   tags=["executions"], summary="Evaluate an expression at execution level: {result} or {error}")
    def post(self, request: Request, execution_id: str) -> Response:
        row = allowed(request.user, execution_id, Action.WRITE)
        if not isinstance(request.data, str) or not request.data.strip():
            raise BadRequest("send the expression as the text/plain body")
        return Response(introspect.evaluate(row, None, request.data))
