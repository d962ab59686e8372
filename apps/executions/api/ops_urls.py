"""Root-level management routes (not under /api/v1): health and metrics."""

from __future__ import annotations

from django.urls import path

from apps.executions.api import ops

urlpatterns = [
    path("health/liveness", ops.Liveness.as_view(), name="health-liveness"),
    path("health/readiness", ops.Readiness.as_view(), name="health-readiness"),
    path("metrics", ops.Metrics.as_view(), name="metrics"),
]
