"""Namespace-file API routes, included at /api/v1/ before the API's catch-all."""

from __future__ import annotations

from django.urls import re_path

from apps.files import api

NS = r"(?P<namespace>[^/]+)"
urlpatterns = [
    re_path(rf"^namespaces/{NS}/files$", api.Files.as_view(), name="api-namespace-files"),
    re_path(rf"^namespaces/{NS}/files/stats$", api.Stats.as_view(), name="api-namespace-files-stats"),
    re_path(rf"^namespaces/{NS}/files/directory$", api.Directory.as_view(), name="api-namespace-files-directory"),
    re_path(rf"^namespaces/{NS}/files/search$", api.Search.as_view(), name="api-namespace-files-search"),
    re_path(rf"^namespaces/{NS}/files/revisions$", api.Revisions.as_view(), name="api-namespace-files-revisions"),
    re_path(rf"^namespaces/{NS}/files/export$", api.Export.as_view(), name="api-namespace-files-export"),
]
