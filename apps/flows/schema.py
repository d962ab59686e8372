"""JSON Schemas (draft-07 style, `definitions`) generated from the plugins' pydantic models.

They drive the editor's forms and YAML completion (KESTRA.md §9.2): each plugin's `type` is a
constant, child task slots are `$ref: #/definitions/Task`, which is an `anyOf` over every task.
Schemas are cached per process: the registry is static.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from apps.flows.inputs import INPUT_MODELS
from apps.flows.spec import FlowSpec
from apps.plugins.registry import registry
from apps.plugins.sdk import Plugin, PluginKind

SCHEMA_KINDS = ("flow", "task", "trigger", "condition", "plugindefault")
KIND_DEFINITION = {
    PluginKind.RUNNABLE: "Task", PluginKind.FLOWABLE: "Task",
    PluginKind.TRIGGER: "Trigger", PluginKind.CONDITION: "Condition",
}


def _rewrite_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        if "$weirRef" in node:
            # SDK placeholder for a child slot (pydantic cannot emit foreign $refs itself)
            return {"$ref": f"#/definitions/{node['$weirRef']}"}
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                name = value.removeprefix("#/$defs/")
                out[key] = f"#/definitions/{rename.get(name, name)}"
            else:
                out[key] = _rewrite_refs(value, rename)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, rename) for v in node]
    return node


def model_schema(model: type[BaseModel], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema, definitions) with nested definitions namespaced by `prefix` to avoid clashes."""
    raw = model.model_json_schema(by_alias=True)
    defs = raw.pop("$defs", {})
    rename = {name: f"{prefix}.{name}" for name in defs}
    schema = _rewrite_refs(raw, rename)
    definitions = {rename[name]: _rewrite_refs(body, rename) for name, body in defs.items()}
    return schema, definitions


@lru_cache(maxsize=512)
def _plugin_schema_cached(type_name: str) -> dict[str, Any]:
    plugin = registry.get(type_name)
    assert plugin is not None
    props, definitions = model_schema(plugin.Properties, plugin.type)
    props["title"] = plugin.title
    props["markdownDescription"] = plugin.documentation()
    props.setdefault("properties", {})["type"] = {"type": "string", "enum": [plugin.type, *plugin.aliases]}
    props["$examples"] = list(plugin.examples)
    if plugin.deprecated:
        props["$deprecated"] = True
    outputs, out_defs = model_schema(plugin.Outputs, plugin.type + ".outputs")
    definitions.update(out_defs)
    return {"properties": props, "outputs": outputs, "definitions": definitions}


def plugin_schema(plugin: type[Plugin]) -> dict[str, Any]:
    """`GET /plugins/{cls}` body: markdown plus properties, outputs and definitions."""
    schema = _plugin_schema_cached(plugin.type)
    return {
        "cls": plugin.type,
        "title": plugin.title,
        "kind": plugin.kind.value,
        "group": plugin.group,
        "icon": plugin.icon,
        "aliases": list(plugin.aliases),
        "deprecated": plugin.deprecated,
        "markdown": plugin.documentation(),
        "examples": list(plugin.examples),
        "schema": schema,
    }


def _union(kinds: tuple[PluginKind, ...]) -> dict[str, Any]:
    return {"anyOf": [{"$ref": f"#/definitions/{p.type}"} for k in kinds for p in registry.all(k)]}


@lru_cache(maxsize=16)
def whole_schema(kind: str, array_of: bool = False) -> dict[str, Any]:
    """`GET /plugins/schemas/{flow|task|trigger|condition|plugindefault}` body."""
    definitions: dict[str, Any] = {}
    for plugin in registry.all():
        body = _plugin_schema_cached(plugin.type)
        definitions.update(body["definitions"])
        definitions[plugin.type] = body["properties"]
    definitions["Task"] = _union((PluginKind.RUNNABLE, PluginKind.FLOWABLE))
    definitions["Trigger"] = _union((PluginKind.TRIGGER,))
    definitions["Condition"] = _union((PluginKind.CONDITION,))
    inputs = []
    for name, model in sorted(INPUT_MODELS.items()):
        schema, defs = model_schema(model, f"input.{name}")
        definitions.update(defs)
        definitions[f"input.{name}"] = schema
        inputs.append({"$ref": f"#/definitions/input.{name}"})
    definitions["Input"] = {"anyOf": inputs}
    flow, flow_defs = model_schema(FlowSpec, "flow")
    definitions.update(flow_defs)
    roots = {"flow": flow, "task": {"$ref": "#/definitions/Task"}, "trigger": {"$ref": "#/definitions/Trigger"},
             "condition": {"$ref": "#/definitions/Condition"},
             "plugindefault": {"$ref": "#/definitions/flow.PluginDefault"}}
    root = roots[kind]
    if array_of:
        root = {"type": "array", "items": root}
    return {"$schema": "http://json-schema.org/draft-07/schema#", **root, "definitions": definitions}


def input_types() -> list[dict[str, Any]]:
    return [{"type": name} for name in sorted(INPUT_MODELS)]


def input_schema(name: str) -> dict[str, Any]:
    model = INPUT_MODELS[name]
    schema, definitions = model_schema(model, f"input.{name}")
    return {"type": name, "schema": {"properties": schema, "definitions": definitions}}
