"""GET /api/v1/executions/export/by-query/csv: the executions a search finds, as Kestra exports them."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.api import csv_export
from apps.executions.api.serializers import execution_json
from apps.executions.api.views import SEARCH_PARAMS
from apps.executions.records import search

COLUMNS = ("id", "namespace", "flowId", "flowRevision", "inputs", "outputs", "labels", "variables", "state",
           "parentId", "originalId", "trigger", "deleted", "metadata", "scheduleDate")
"""Kestra's `Execution` fields in its serialization order, without the task runs."""
PARAMS = search.EXECUTION_PARAMS - {"page", "size"}


class ExecutionsCsv(APIView):
    @extend_schema(parameters=[p for p in SEARCH_PARAMS if p.name in PARAMS],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, tags=["executions"],
                   summary="Export the executions a search finds as CSV (every page)")
    def get(self, request: Request) -> StreamingHttpResponse:
        params = request.query_params
        search.refuse_unknown(params, PARAMS)
        order = search.parse_sort(params.get("sort"), search.EXECUTION_SORT, ["-created", "-pk"])
        rows = search.executions(request.user, params, states=params.getlist("state"),
                                 labels=params.getlist("labels")).order_by(*order)
        return csv_export.response((execution_json(r) for r in rows.iterator(chunk_size=500)), COLUMNS,
                                   "executions.csv")
