"""/api/v1/plugins… (KESTRA.md §7.5): the plugin catalog, input types and JSON Schemas."""

from __future__ import annotations

from django.urls import path, re_path

from apps.flows.api import plugins as views

urlpatterns = [
    path("", views.PluginList.as_view(), name="api-plugins"),
    path("/inputs", views.InputTypes.as_view()),
    re_path(r"^/inputs/(?P<name>[A-Z]+)$", views.InputType.as_view()),
    re_path(r"^/schemas/(?P<kind>[a-z]+)$", views.WholeSchema.as_view()),
    re_path(r"^/(?P<cls>[A-Za-z0-9_.$]+)$", views.PluginDetail.as_view(), name="api-plugin"),
]
