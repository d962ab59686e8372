"""GET /api/v1/flows/export/by-query/csv: the flows a query finds, as Kestra exports them."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.api import csv_export
from apps.flows.api import bulk
from apps.flows.api.serializers import flow_summary

COLUMNS = ("id", "namespace", "revision", "description", "labels", "disabled", "deleted", "taskCount", "updated")
"""Kestra's `Flow` fields in its serialization order (no source, no task tree), then Weir's two
summary fields."""


class FlowsCsv(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("namespace", str),
                               OpenApiParameter("labels", str, many=True)],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, tags=["flows"],
                   summary="Export the flows a query finds as CSV")
    def get(self, request: Request) -> StreamingHttpResponse:
        flows = bulk.by_query(request).order_by("namespace", "flow_id")
        return csv_export.response((flow_summary(f) for f in flows.iterator()), COLUMNS, "flows.csv")
