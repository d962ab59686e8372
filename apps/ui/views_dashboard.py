"""The dashboard: executions per state over time (chart drawn by the `dashboard` island from
`/api/v1/stats/executions/daily`), updated live, and per-flow trends of task run durations and
failure rates (the `flow-trends` island, from `/api/v1/stats/flows/timeline`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

RANGES = {"24h": ("hour", 24), "7d": ("day", 7), "30d": ("day", 30)}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    namespace = request.GET.get("namespace", "").strip()
    flow_id = request.GET.get("flowId", "").strip()
    period = request.GET.get("range", "7d")
    if period not in RANGES:
        period = "7d"
    group, count = RANGES[period]
    props = {"namespace": namespace, "flowId": flow_id, "groupBy": group, "buckets": count,
             "statsUrl": reverse("api-stats-executions-daily"),
             "trendsUrl": reverse("api-stats-flows-timeline"), "executionsUrl": reverse("ui:executions")}
    return render(request, "ui/dashboard.html", {
        "namespace": namespace, "flow_id": flow_id, "range": period, "ranges": list(RANGES), "props": props,
    })
