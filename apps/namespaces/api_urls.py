"""Namespace API routes, included at /api/v1/ before the API's catch-all (secrets routes under
`namespaces/{ns}/secrets` live in apps.secrets)."""

from __future__ import annotations

from django.urls import path, re_path

from apps.namespaces import api

NS = r"(?P<namespace>[^/]+)"
urlpatterns = [
    path("namespaces", api.Namespaces.as_view(), name="api-namespaces"),
    re_path(rf"^namespaces/{NS}$", api.NamespaceDetail.as_view(), name="api-namespace"),
    re_path(rf"^namespaces/{NS}/inherited$", api.Inherited.as_view(), name="api-namespace-inherited"),
    re_path(rf"^namespaces/{NS}/members$", api.Members.as_view(), name="api-namespace-members"),
    re_path(rf"^namespaces/{NS}/members/(?P<kind>users|groups)/(?P<name>[^/]+)$", api.Member.as_view(),
            name="api-namespace-member"),
    re_path(rf"^namespaces/{NS}/invitations$", api.Invitations.as_view(), name="api-namespace-invitations"),
]
