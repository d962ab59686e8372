"""Plugin catalog and JSON Schema endpoints (KESTRA.md §7.5)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import NotFound
from apps.flows import schema
from apps.flows.inputs import INPUT_MODELS
from apps.plugins.registry import registry
from apps.plugins.sdk import PluginKind

KIND_KEYS = {PluginKind.RUNNABLE: "tasks", PluginKind.FLOWABLE: "tasks", PluginKind.TRIGGER: "triggers",
             PluginKind.CONDITION: "conditions"}
SCHEMA_CACHE = "public, max-age=3600"


class PluginList(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="All plugins, by group", tags=["plugins"])
    def get(self, request: Request) -> Response:
        groups: dict[str, dict[str, Any]] = {}
        for plugin in registry.all():
            group = groups.setdefault(plugin.group, {"group": plugin.group, "tasks": [], "triggers": [],
                                                     "conditions": []})
            group[KIND_KEYS[plugin.kind]].append({
                "cls": plugin.type, "title": plugin.title, "kind": plugin.kind.value, "icon": plugin.icon,
                "aliases": list(plugin.aliases), "deprecated": plugin.deprecated,
            })
        return Response(sorted(groups.values(), key=lambda g: g["group"]))


class PluginDetail(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Docs and JSON Schema of one plugin",
                   tags=["plugins"], operation_id="v1_plugin_retrieve")
    def get(self, request: Request, cls: str) -> Response:
        plugin = registry.get(cls)
        if plugin is None:
            near = registry.suggest(cls)
            raise NotFound(f"no plugin {cls!r}" + (f"; did you mean {' or '.join(near)}?" if near else ""))
        return Response(schema.plugin_schema(plugin), headers={"Cache-Control": SCHEMA_CACHE})


class WholeSchema(APIView):
    @extend_schema(parameters=[OpenApiParameter("arrayOf", bool)], responses={200: OpenApiTypes.OBJECT},
                   summary="Whole JSON Schema (flow, task, trigger, condition, plugindefault)", tags=["plugins"])
    def get(self, request: Request, kind: str) -> Response:
        array_of = request.query_params.get("arrayOf", "false").lower() == "true"
        if kind not in schema.SCHEMA_KINDS:
            raise NotFound(f"no schema {kind!r}; use {', '.join(schema.SCHEMA_KINDS)}")
        body = schema.whole_schema(kind, array_of)
        return Response(body, headers={"Cache-Control": SCHEMA_CACHE})


class InputTypes(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Input types", tags=["plugins"])
    def get(self, request: Request) -> Response:
        return Response(schema.input_types())


class InputType(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="JSON Schema of one input type", tags=["plugins"],
                   operation_id="v1_plugins_input_retrieve")
    def get(self, request: Request, name: str) -> Response:
        if name not in INPUT_MODELS:
            raise NotFound(f"no input type {name!r}; known: {', '.join(sorted(INPUT_MODELS))}")
        return Response(schema.input_schema(name))
