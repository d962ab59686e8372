"""Execution counts per state over time, for the dashboard (Kestra's `/stats/executions/daily`).

`POST /api/v1/stats/executions/daily` with a JSON filter (`namespace`, `flowId`, `startDate`,
`endDate`, and Weir's `groupBy`: `day` or `hour`), or the same as `GET` query parameters. The
buckets cover the whole range, empty ones included, so a chart needs no gap logic. The search
goes through `search.executions`, so the counts include only what the caller may read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.executions.records import search

FIELDS = {"namespace", "flowId", "startDate", "endDate", "groupBy"}
MAX_BUCKETS = {"day": 366, "hour": 24 * 14}
STEP = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


def _floor(moment: datetime, group: str) -> datetime:
    moment = moment.astimezone(timezone.get_current_timezone())
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if group == "day" else moment


def daily(user: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    search.refuse_unknown(params, FIELDS)
    group = str(params.get("groupBy") or "day").lower()
    if group not in STEP:
        raise BadRequest(f"groupBy={group!r}: use 'day' or 'hour'")
    now = timezone.now()
    end = search.parse_date(params.get("endDate"), "endDate") or now
    start = search.parse_date(params.get("startDate"), "startDate") or end - STEP[group] * (30 if group == "day" else 24)
    if start > end:
        raise BadRequest("startDate must be before endDate")
    first, last = _floor(start, group), _floor(end, group)
    buckets = int((last - first) / STEP[group]) + 1
    if buckets > MAX_BUCKETS[group]:
        raise BadRequest(f"too many {group}s ({buckets}); at most {MAX_BUCKETS[group]}: narrow startDate/endDate")
    qs = search.executions(user, {"namespace": params.get("namespace"), "flowId": params.get("flowId")})
    trunc = TruncDay("created") if group == "day" else TruncHour("created")
    rows = (qs.filter(created__gte=first, created__lt=last + STEP[group]).annotate(bucket=trunc)
            .values("bucket", "state").annotate(n=Count("id")).order_by())
    counts: dict[datetime, dict[str, int]] = {}
    for row in rows:
        key = _floor(row["bucket"], group)
        counts.setdefault(key, {})[row["state"]] = row["n"]
    out = []
    for i in range(buckets):
        at = first + STEP[group] * i
        per_state = counts.get(at, {})
        out.append({"startDate": at.isoformat(), "groupBy": group, "executionCounts": per_state,
                    "total": sum(per_state.values())})
    return out


class ExecutionsDaily(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": {"type": "object"}}, responses={200: OpenApiTypes.OBJECT},
                   tags=["stats"], summary="Executions per state per day (or hour) over a range")
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise BadRequest('send a JSON object, e.g. {"namespace": "prod", "startDate": "2024-01-01T00:00:00Z"}')
        return Response(daily(request.user, body))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["stats"],
                   summary="Executions per state per day (or hour), filters as query parameters")
    def get(self, request: Request) -> Response:
        return Response(daily(request.user, request.query_params.dict()))
