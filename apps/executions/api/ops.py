"""Management endpoints at the root, outside /api/v1 as in Kestra (KESTRA.md §7.6):
`/health/liveness`, `/health/readiness` and (`metrics_view`) `/metrics`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView

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


class Metrics(APIView):
    """Prometheus exposition (`apps.executions.scrape`). Superusers only: the series name every
    namespace and flow, which a namespace-scoped user must not learn (docs/adr/0018). Prometheus
    scrapes with a superuser's API token (`authorization: {credentials: …}`)."""

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, summary="Prometheus metrics", tags=["ops"])
    def get(self, request: Request) -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied("metrics are for superusers (their series name every namespace)")
        from apps.executions import scrape

        return HttpResponse(scrape.render(), content_type=scrape.CONTENT_TYPE)
