"""Audit API route, included at /api/v1/ before the API's catch-all."""

from __future__ import annotations

from django.urls import path

from apps.audit import api

urlpatterns = [path("audit", api.AuditLog.as_view(), name="api-audit")]
