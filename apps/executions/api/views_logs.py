"""Logs and metrics REST API (KESTRA.md §7.3).

`GET /logs/{executionId}` pages by `seq`, the per-execution line number: a client asks again with
`afterSeq` = the last seq it has, which never skips nor repeats a line while an execution is still
writing (offset paging would). The download streams the whole log as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.core.paging import parse_int
from apps.executions.access import allowed, readable
from apps.executions.api.serializers import log_json
from apps.executions.api.shapes import log_text, metric_json
from apps.executions.models import LogLine
from apps.executions.records import search
from apps.namespaces.permissions import Action

LOG_FILTERS = [OpenApiParameter("minLevel", str, enum=list(search.LEVELS)), OpenApiParameter("taskRunId", str),
               OpenApiParameter("taskId", str), OpenApiParameter("attempt", int)]
LOG_PARAMS = {"minLevel", "taskRunId", "taskId", "attempt"}
DEFAULT_LOG_PAGE = 1000
MAX_LOG_PAGE = 10_000


class ExecutionLogs(APIView):
    @extend_schema(parameters=[*LOG_FILTERS, OpenApiParameter("afterSeq", int, description="exclusive"),
                               OpenApiParameter("size", int, description=f"at most {MAX_LOG_PAGE}")],
                   responses={200: OpenApiTypes.OBJECT}, tags=["logs"],
                   summary="One execution's log lines in seq order; page with afterSeq")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        params = request.query_params
        search.refuse_unknown(params, LOG_PARAMS | {"afterSeq", "size"})
        size = parse_int(params, "size", DEFAULT_LOG_PAGE, 1, MAX_LOG_PAGE)
        lines = search.execution_logs(row.id, params)[:size]
        return Response([log_json(line, row) for line in lines])

    @extend_schema(parameters=[OpenApiParameter("taskRunId", str), OpenApiParameter("taskId", str)],
                   responses={204: None}, tags=["logs"], summary="Delete an execution's log lines")
    def delete(self, request: Request, execution_id: str) -> Response:
        row = allowed(request.user, execution_id, Action.WRITE)
        search.refuse_unknown(request.query_params, LOG_PARAMS)
        search.execution_logs(row.id, request.query_params).delete()
        return Response(status=204)


class TextRenderer(BaseRenderer):
    """Lets `Accept: text/plain` (Kestra's SDKs) through content negotiation; errors stay JSON."""

    media_type = "text/plain"
    format = "txt"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


class DownloadLogs(APIView):
    renderer_classes: list[type[BaseRenderer]] = [*cast("list[type[BaseRenderer]]", api_settings.DEFAULT_RENDERER_CLASSES), TextRenderer]

    @extend_schema(parameters=LOG_FILTERS, responses={(200, "text/plain"): OpenApiTypes.STR}, tags=["logs"],
                   summary="An execution's log as text: `timestamp level [taskId] message` lines")
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        row = readable(request.user, execution_id)
        search.refuse_unknown(request.query_params, LOG_PARAMS)
        lines = search.execution_logs(row.id, request.query_params)

        def stream() -> Iterator[str]:
            line: LogLine
            for line in lines.iterator(chunk_size=2000):
                yield log_text(line)

        response = StreamingHttpResponse(stream(), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{row.id}.log"'
        return response


class LogSearch(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("namespace", str),
                               OpenApiParameter("flowId", str), OpenApiParameter("minLevel", str),
                               OpenApiParameter("startDate", str), OpenApiParameter("endDate", str),
                               OpenApiParameter("page", int), OpenApiParameter("size", int),
                               OpenApiParameter("sort", str)],
                   responses={200: OpenApiTypes.OBJECT}, tags=["logs"], summary="Search log lines")
    def get(self, request: Request) -> Response:
        page = search.search_logs(request.user, request.query_params)
        return Response({"results": [log_json(line, line.execution) for line in page.results],
                         "total": page.total})


class ExecutionMetrics(APIView):
    @extend_schema(parameters=[OpenApiParameter("taskRunId", str), OpenApiParameter("taskId", str),
                               OpenApiParameter("page", int), OpenApiParameter("size", int),
                               OpenApiParameter("sort", str)],
                   responses={200: OpenApiTypes.OBJECT}, tags=["metrics"], summary="An execution's metrics")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        page = search.execution_metrics(row.id, request.query_params)
        return Response({"results": [metric_json(m, row) for m in page.results], "total": page.total})
