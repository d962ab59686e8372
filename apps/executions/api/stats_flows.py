"""Per-flow trends for the dashboard's charts: task run durations and execution failure rates
over time (`GET /api/v1/stats/flows/timeline`).

Buckets follow `stats.daily` (day or hour, empty ones included) and are keyed by when the
execution was created, so the three charts of the page line up. The busiest `top` flows of the
range are returned (`flowCount` says how many had executions). Task run dates are stored as
ISO text, so durations are computed here rather than in SQL, over at most
`MAX_TASK_RUNS` task runs, the newest first (`truncated` says when more were left out).
Only executions the caller may read are counted (`search.executions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDay, TruncHour
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.engine.states import TERMINATED
from apps.executions.api.stats import MAX_BUCKETS, STEP, _floor
from apps.executions.models import TaskRun
from apps.executions.records import search

FIELDS = {"namespace", "flowId", "startDate", "endDate", "groupBy", "top"}
MAX_TASK_RUNS = 100_000
ENDED = [s.value for s in TERMINATED]
FAILED = {"FAILED"}


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except ValueError:
        return None


def timeline(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    search.refuse_unknown(params, FIELDS)
    group = str(params.get("groupBy") or "day").lower()
    if group not in STEP:
        raise BadRequest(f"groupBy={group!r}: use 'day' or 'hour'")
    try:
        top = int(params.get("top") or 8)
    except ValueError as error:
        raise BadRequest(f"top must be a whole number, got {params.get('top')!r}") from error
    if not 1 <= top <= 50:
        raise BadRequest("top must be between 1 and 50")
    from django.utils import timezone

    end = search.parse_date(params.get("endDate"), "endDate") or timezone.now()
    start = search.parse_date(params.get("startDate"), "startDate") or end - STEP[group] * (6 if group == "day" else 23)
    if start > end:
        raise BadRequest("startDate must be before endDate")
    first, last = _floor(start, group), _floor(end, group)
    count = int((last - first) / STEP[group]) + 1
    if count > MAX_BUCKETS[group]:
        raise BadRequest(f"too many {group}s ({count}); at most {MAX_BUCKETS[group]}: narrow startDate/endDate")
    buckets = [first + STEP[group] * i for i in range(count)]
    index = {at: i for i, at in enumerate(buckets)}
    executions = search.executions(user, {"namespace": params.get("namespace"), "flowId": params.get("flowId")}) \
        .filter(created__gte=first, created__lt=last + STEP[group])
    trunc = TruncDay("created") if group == "day" else TruncHour("created")

    totals = {(r["namespace"], r["flow_id"]): r["n"] for r in
              executions.values("namespace", "flow_id").annotate(n=Count("id")).order_by()}
    chosen = sorted(totals, key=lambda key: (-totals[key], key))[:top]
    flows: dict[tuple[str, str], dict[str, Any]] = {
        key: {"namespace": key[0], "flowId": key[1], "executions": totals[key], "ended": [0] * count,
              "failed": [0] * count, "failureRate": [None] * count, "taskRuns": [0] * count,
              "avgTaskSeconds": [None] * count, "maxTaskSeconds": [None] * count}
        for key in chosen}
    if chosen:
        from django.db.models import Q

        only = Q()
        for namespace, flow_id in chosen:
            only |= Q(namespace=namespace, flow_id=flow_id)
        picked = executions.filter(only)
        for row in (picked.filter(state__in=ENDED).annotate(bucket=trunc).values("namespace", "flow_id", "bucket", "state")
                    .annotate(n=Count("id")).order_by()):
            entry, at = flows[(row["namespace"], row["flow_id"])], index.get(_floor(row["bucket"], group))
            if at is None:
                continue
            entry["ended"][at] += row["n"]
            if row["state"] in FAILED:
                entry["failed"][at] += row["n"]
        runs = (TaskRun.objects.filter(execution__in=picked.values("id"), state__in=ENDED)
                .exclude(start_date=None).exclude(end_date=None)
                .order_by("-execution__created")
                .values_list("execution__namespace", "execution__flow_id", "execution__created", "start_date",
                             "end_date")[:MAX_TASK_RUNS + 1])
        rows = list(runs)
        truncated = len(rows) > MAX_TASK_RUNS
        sums: dict[tuple[tuple[str, str], int], float] = {}
        for namespace, flow_id, created, run_start, run_end in rows[:MAX_TASK_RUNS]:
            seconds = _seconds(run_start, run_end)
            at = index.get(_floor(created, group))
            if seconds is None or at is None:
                continue
            entry = flows[(namespace, flow_id)]
            entry["taskRuns"][at] += 1
            sums[((namespace, flow_id), at)] = sums.get(((namespace, flow_id), at), 0.0) + seconds
            best = entry["maxTaskSeconds"][at]
            entry["maxTaskSeconds"][at] = seconds if best is None else max(best, seconds)
        for (key, at), total in sums.items():
            flows[key]["avgTaskSeconds"][at] = round(total / flows[key]["taskRuns"][at], 3)
        for entry in flows.values():
            entry["failureRate"] = [round(f / e, 4) if e else None for f, e in zip(entry["failed"], entry["ended"],
                                                                                    strict=True)]
    else:
        truncated = False
    return {"groupBy": group, "buckets": [at.isoformat() for at in buckets], "flowCount": len(totals),
            "flows": [flows[key] for key in chosen], "truncated": truncated}


class FlowsTimeline(APIView):
    @extend_schema(parameters=[OpenApiParameter(n, str) for n in sorted(FIELDS)], responses={200: OpenApiTypes.OBJECT},
                   tags=["stats"], summary="Task run durations and failure rates per flow over time")
    def get(self, request: Request) -> Response:
        return Response(timeline(request.user, request.query_params.dict()))
