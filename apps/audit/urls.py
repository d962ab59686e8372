"""The audit log page."""

from __future__ import annotations

from django.urls import path

from apps.audit import views

urlpatterns = [path("audit/", views.audit_log, name="audit")]
