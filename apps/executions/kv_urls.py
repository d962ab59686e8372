"""The KV store page of a namespace."""

from __future__ import annotations

from django.urls import path

from apps.executions import kv_page

app_name = "kv"
urlpatterns = [path("namespaces/<str:namespace>/kv/", kv_page.namespace_kv, name="namespace")]
