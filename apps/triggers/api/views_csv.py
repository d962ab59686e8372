"""GET /api/v1/triggers/export/by-query/csv: the triggers a search finds, as Kestra exports them."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.api import csv_export
from apps.executions.records.search import refuse_unknown
from apps.triggers import services

COLUMNS = ("namespace", "flowId", "triggerId", "date", "nextExecutionDate", "backfill", "stopAfter", "disabled",
           "executionId", "updatedDate", "evaluateRunningDate", "workerId")
"""Kestra's `Trigger` fields in its serialization order (its `TriggerContext` part first)."""


class TriggersCsv(APIView):
    @extend_schema(parameters=[OpenApiParameter(n, str) for n in ("q", "namespace", "flowId")],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, tags=["triggers"],
                   summary="Export the triggers a search finds as CSV")
    def get(self, request: Request) -> StreamingHttpResponse:
        params = request.query_params
        refuse_unknown(params, {"q", "namespace", "flowId"})
        rows = services.states(request.user, namespace=params.get("namespace"), flow_id=params.get("flowId"),
                               q=params.get("q"))
        # Read now, not while streaming: the rows reconciled for this request are then certainly seen.
        return csv_export.response([services.state_json(r) for r in rows], COLUMNS, "triggers.csv")
