"""Secrets API routes, included at /api/v1/ before the API's catch-all."""

from __future__ import annotations

from django.urls import re_path

from apps.secrets import api

NS = r"(?P<namespace>[^/]+)"
urlpatterns = [
    re_path(rf"^namespaces/{NS}/secrets$", api.NamespaceSecrets.as_view(), name="api-secrets"),
    re_path(rf"^namespaces/{NS}/secrets/(?P<key>[^/]+)$", api.NamespaceSecret.as_view(), name="api-secret"),
]
