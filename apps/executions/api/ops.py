"""Management endpoints at the root, outside /api/v1 as in Kestra (KESTRA.md §7.6):
`/health/liveness`, `/health/readiness` and (`metrics_view`) `/metrics`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views import View

from apps.executions import health


class Liveness(View):
    """The process answers: nothing else is checked (a restart would not fix a database)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"status": health.UP})


class Readiness(View):
    """200 when every dependency is up, 503 naming the ones that are not."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        report = health.readiness()
        return JsonResponse(report, status=200 if report["status"] == health.UP else 503)
