"""A flow's metrics across its executions (KESTRA.md §7.3): the names it emitted, the tasks that
emitted any, and one metric aggregated per time bucket — what Kestra's metrics tab reads.

Aggregates follow Kestra's MetricController: `aggregation` is `sum` (default), `avg`, `min` or
`max`; the range defaults to the last 30 days; the bucket (`groupBy`) grows with the range:
minute up to 6 hours, hour up to a day, day up to 180 days, week up to a year, month beyond.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Max, Min, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.core.paging import refuse_unknown
from apps.executions.models import Metric
from apps.namespaces.permissions import Action, require

AGGREGATIONS = {"sum": Sum, "avg": Avg, "min": Min, "max": Max}
TAG = ["metrics"]


def _metrics(user: Any, namespace: str, flow_id: str, task_id: str | None = None) -> QuerySet[Metric]:
    require(user, Action.READ, namespace)
    rows = Metric.objects.filter(execution__namespace=namespace, execution__flow_id=flow_id)
    return rows.filter(task_id=task_id) if task_id is not None else rows


def _names(rows: QuerySet[Metric], field: str) -> list[str]:
    return list(rows.exclude(**{f"{field}__isnull": True}).values_list(field, flat=True).distinct().order_by(field))


def _date(request: Request, name: str, default: datetime) -> datetime:
    raw = request.query_params.get(name)
    if not raw:
        return default
    parsed = parse_datetime(raw)
    if parsed is None:
        raise BadRequest(f"{name} must be an ISO date-time such as 2024-01-31T00:00:00Z, got {raw!r}")
    return parsed if parsed.tzinfo else timezone.make_aware(parsed, timezone.get_default_timezone())


def bucket(span: timedelta) -> tuple[str, Any]:
    """Kestra's `groupBy` for a date range and the truncation that makes its buckets."""
    if span > timedelta(days=365):
        return "month", TruncMonth
    if span > timedelta(days=180):
        return "week", TruncWeek
    if span > timedelta(days=1):
        return "day", TruncDay
    if span > timedelta(hours=6):
        return "hour", TruncHour
    return "minute", TruncMinute


def aggregate(request: Request, namespace: str, flow_id: str, metric: str, task_id: str | None) -> dict[str, Any]:
    refuse_unknown(request.query_params, {"startDate", "endDate", "aggregation"})
    how = (request.query_params.get("aggregation") or "sum").lower()
    if how not in AGGREGATIONS:
        raise BadRequest(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {how!r}")
    end = _date(request, "endDate", timezone.now())
    start = _date(request, "startDate", end - timedelta(days=30))
    if start > end:
        raise BadRequest("startDate must not be after endDate")
    group_by, trunc = bucket(end - start)
    rows = (_metrics(request.user, namespace, flow_id, task_id)
            .filter(name=metric, timestamp__gte=start, timestamp__lte=end)
            .annotate(bucket=trunc("timestamp")).values("bucket")
            .annotate(value=AGGREGATIONS[how]("value")).order_by("bucket"))
    return {"groupBy": group_by,
            "aggregations": [{"name": metric, "value": row["value"], "date": row["bucket"].isoformat()}
                             for row in rows]}


AGGREGATE_PARAMS = [OpenApiParameter("startDate", str), OpenApiParameter("endDate", str),
                    OpenApiParameter("aggregation", str, enum=list(AGGREGATIONS))]


class FlowMetricNames(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="Metric names a flow emitted",
                   operation_id="metrics_flow_names")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        return Response(_names(_metrics(request.user, namespace, flow_id), "name"))


class TaskMetricNames(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="Metric names a task emitted",
                   operation_id="metrics_task_names")
    def get(self, request: Request, namespace: str, flow_id: str, task_id: str) -> Response:
        return Response(_names(_metrics(request.user, namespace, flow_id, task_id), "name"))


class TasksWithMetrics(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="Tasks of a flow that emitted metrics")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        return Response(_names(_metrics(request.user, namespace, flow_id), "task_id"))


class FlowMetricAggregates(APIView):
    @extend_schema(parameters=AGGREGATE_PARAMS, responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="One metric of a flow, aggregated per time bucket", operation_id="metrics_flow_aggregates")
    def get(self, request: Request, namespace: str, flow_id: str, metric: str) -> Response:
        return Response(aggregate(request, namespace, flow_id, metric, None))


class TaskMetricAggregates(APIView):
    @extend_schema(parameters=AGGREGATE_PARAMS, responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="One metric of a task, aggregated per time bucket", operation_id="metrics_task_aggregates")
    def get(self, request: Request, namespace: str, flow_id: str, task_id: str, metric: str) -> Response:
        return Response(aggregate(request, namespace, flow_id, metric, task_id))
