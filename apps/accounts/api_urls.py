"""Accounts API routes, included at /api/v1/ before the API's catch-all."""

from __future__ import annotations

from django.urls import path, re_path

from apps.accounts import api

NAME = r"[^/]+"
urlpatterns = [
    path("groups", api.Groups.as_view(), name="api-groups"),
    re_path(rf"^groups/(?P<group>{NAME})$", api.GroupDetail.as_view(), name="api-group"),
    re_path(rf"^groups/(?P<group>{NAME})/members/(?P<username>{NAME})$", api.GroupMember.as_view(),
            name="api-group-member"),
    path("service-accounts", api.ServiceAccounts.as_view(), name="api-service-accounts"),
    re_path(rf"^service-accounts/(?P<name>{NAME})/tokens$", api.ServiceAccountTokens.as_view(),
            name="api-service-account-tokens"),
]
