"""Namespace files pages."""

from __future__ import annotations

from django.urls import path

from apps.files import views

app_name = "files"
urlpatterns = [
    path("namespaces/<str:namespace>/files/", views.namespace_files, name="namespace"),
]
