"""Namespace pages (the secrets page of a namespace is in apps.secrets)."""

from __future__ import annotations

from django.urls import path

from apps.namespaces import views

app_name = "namespaces"
urlpatterns = [
    path("namespaces/", views.tree, name="list"),
    path("namespaces/<str:namespace>/", views.detail, name="detail"),
    path("namespaces/<str:namespace>/members/", views.member_list, name="members"),
]
