"""Turn a flow's parsed YAML (plugin defaults merged) into the task tree the planner walks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.engine.model import CompiledFlow, TaskNode
from apps.plugins.registry import Registry, registry
from apps.plugins.sdk import ExecutableMixin, FlowableTask, PluginKind, SlotKind, SlotShape

SUBFLOW_TYPES = frozenset({"io.kestra.plugin.core.flow.Subflow"})
LABELS_TYPES = frozenset({"io.kestra.plugin.core.execution.Labels"})
FOR_EACH_ITEM_PARTS = {"split": "ForEachItemSplit", "items": "ForEachItemExecutable", "merge": "ForEachItemMergeOutputs"}
"""ForEachItem's internal task runs, by id suffix, with the Java class names Kestra gives them."""


class CompileError(Exception):
    """The flow references a task type that is not (or no longer) installed."""


def compile_flow(data: Mapping[str, Any], revision: int, reg: Registry = registry) -> CompiledFlow:
    by_id: dict[str, TaskNode] = {}

    def build(raw: Mapping[str, Any], parent: TaskNode | None, slot: str) -> TaskNode:
        type_name = str(raw.get("type", ""))
        plugin = reg.get(type_name)
        if plugin is None:
            raise CompileError(f"task '{raw.get('id')}': unknown type '{type_name}'")
        flowable = plugin.kind == PluginKind.FLOWABLE
        node = TaskNode(
            id=str(raw["id"]), type=plugin.type, raw=raw,
            kind="flowable" if flowable else "runnable",
            planner=getattr(plugin, "planner", "sequential") if flowable else "",
            parent=parent, slot=slot,
            is_subflow=plugin.type in SUBFLOW_TYPES or (
                isinstance(plugin, type) and issubclass(plugin, ExecutableMixin) and not flowable),
            is_labels=plugin.type in LABELS_TYPES,
            is_pause=flowable and getattr(plugin, "planner", "") == "pause",
            runs_on_worker=bool(getattr(plugin, "runs_on_worker", False)),
        )
        by_id[node.id] = node
        if node.planner == "for_each_item":
            node.children["tasks"] = [_internal(node, part, by_id) for part in FOR_EACH_ITEM_PARTS]
        if flowable and isinstance(plugin, type) and issubclass(plugin, FlowableTask):
            for spec in plugin.slots:
                if spec.kind != SlotKind.TASKS:
                    continue
                value = raw.get(spec.name)
                if spec.shape == SlotShape.LIST:
                    node.children[spec.name] = [build(t, node, spec.name) for t in value or []]
                elif spec.shape == SlotShape.MAP:
                    for key, tasks in (value or {}).items():
                        name = f"{spec.name}.{_case_key(key)}"
                        node.children[name] = [build(t, node, name) for t in tasks or []]
                elif spec.shape == SlotShape.DAG:
                    entries = []
                    for entry in value or []:
                        child = build(entry["task"], node, spec.name)
                        child.dag_depends = list(entry.get("dependsOn") or [])
                        entries.append(child)
                    node.children[spec.name] = entries
        return node

    def build_list(name: str) -> list[TaskNode]:
        return [build(t, None, name) for t in data.get(name) or []]

    return CompiledFlow(
        namespace=str(data.get("namespace")), id=str(data.get("id")), revision=revision, raw=data,
        tasks=build_list("tasks"), errors=build_list("errors"), finally_=build_list("finally"),
        after_execution=build_list("afterExecution"), by_id=by_id,
    )


def _internal(parent: TaskNode, part: str, by_id: dict[str, TaskNode]) -> TaskNode:
    """One of the task runs a ForEachItem is made of (`<id>_split`, `<id>_items`, `<id>_merge`)."""
    task_id = f"{parent.id}_{part}"
    node = TaskNode(id=task_id, type=f"{parent.type}${FOR_EACH_ITEM_PARTS[part]}",
                    raw={"id": task_id, "type": f"{parent.type}${FOR_EACH_ITEM_PARTS[part]}"},
                    kind="runnable", planner="", parent=parent, slot="tasks", internal=part)
    by_id[task_id] = node
    return node


def _case_key(key: Any) -> str:
    if isinstance(key, bool):
        return str(key).lower()
    return str(key)
