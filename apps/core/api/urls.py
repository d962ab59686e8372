"""Everything under /api/v1."""

from __future__ import annotations

from django.urls import include, path, re_path

from apps.core.api.views import Configs, UnknownEndpoint

urlpatterns = [
    path("configs", Configs.as_view(), name="api-configs"),
    path("flows", include("apps.flows.api.urls")),
    path("plugins", include("apps.flows.api.plugin_urls")),
    re_path(r"^.*$", UnknownEndpoint.as_view()),
]
