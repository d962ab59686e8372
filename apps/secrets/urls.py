"""The secrets page of a namespace."""

from __future__ import annotations

from django.urls import path

from apps.secrets import views

app_name = "secrets"
urlpatterns = [path("namespaces/<str:namespace>/secrets/", views.namespace_secrets, name="namespace")]
