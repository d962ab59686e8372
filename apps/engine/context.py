"""The variables an expression sees (KESTRA.md §6.2), built from an execution snapshot.

Pure: the host adds what only it knows (`envs`, `globals`) through `Env`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.engine.inputs import instant_string
from apps.engine.model import CompiledFlow, ExecutionData, TaskNode, TaskRunData


@dataclass
class Env:
    """Host facts the planner and the worker need: the clock and process-level variables."""

    now: datetime
    envs: dict[str, Any] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    services: Any = None
    """An `expressions.RenderServices` (secrets, KV, files), or None where none are available."""


def ancestors(ex: ExecutionData, run: TaskRunData, index: Mapping[str, TaskRunData] | None = None) -> list[TaskRunData]:
    """Parent task runs, closest first."""
    by_id = index if index is not None else {r.id: r for r in ex.task_runs}
    found = []
    current = by_id.get(run.parent_id) if run.parent_id else None
    while current is not None:
        found.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return found


def value_chain(ex: ExecutionData, run: TaskRunData, index: Mapping[str, TaskRunData] | None = None) -> list[str]:
    """The loop values from the outermost valued ancestor down to this run's own value."""
    chain = [a.value for a in reversed(ancestors(ex, run, index)) if a.value is not None]
    if run.value is not None:
        chain.append(run.value)
    return chain


def _place(result: dict[str, Any], task_id: str, chain: list[str], leaf: Any) -> None:
    if not chain:
        current = result.get(task_id)
        if isinstance(current, dict) and isinstance(leaf, dict):
            current.update(leaf)
        else:
            result[task_id] = dict(leaf) if isinstance(leaf, dict) else leaf
        return
    node = result.setdefault(task_id, {})
    if not isinstance(node, dict):
        node = result[task_id] = {}
    for value in chain[:-1]:
        nxt = node.setdefault(value, {})
        if not isinstance(nxt, dict):
            nxt = node[value] = {}
        node = nxt
    node[chain[-1]] = leaf


def outputs_and_states(ex: ExecutionData) -> tuple[dict[str, Any], dict[str, Any]]:
    """`outputs.<task>[<values>…]` and `tasks.<task>[<values>…].state` maps."""
    index = {r.id: r for r in ex.task_runs}
    outputs: dict[str, Any] = {}
    states: dict[str, Any] = {}
    for run in sorted(ex.task_runs, key=lambda r: r.seq):
        chain = value_chain(ex, run, index)
        _place(states, run.task_id, chain, {"state": run.state.value})
        if run.outputs is not None:
            _place(outputs, run.task_id, chain, run.outputs)
    return outputs, states


def labels_map(labels: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for label in labels:
        key, value = str(label.get("key")), label.get("value")
        if key.startswith("system."):
            result.setdefault("system", {}).setdefault(key[len("system."):], value)
        else:
            result.setdefault(key, value)
    return result


def merge_labels(existing: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Labels set by a task replace those with the same key and add the others."""
    merged = [dict(label) for label in existing]
    for label in new:
        for item in merged:
            if item.get("key") == label["key"]:
                item["value"] = label["value"]
                break
        else:
            merged.append(dict(label))
    return merged


def _namespace_variables(env: Env) -> dict[str, Any]:
    read = getattr(env.services, "namespace_variables", None)
    return dict(read()) if read is not None else {}


def build(flow: CompiledFlow, ex: ExecutionData, env: Env, run: TaskRunData | None = None,
          node: TaskNode | None = None, *, running_attempt: bool = False) -> dict[str, Any]:
    """The whole context for rendering in `run` (or at execution level when `run` is None)."""
    outputs, states = outputs_and_states(ex)
    context: dict[str, Any] = {
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision, "tenantId": None},
        "execution": {"id": ex.id, "startDate": instant_string(ex.start_date), "originalId": ex.original_id,
                      "state": ex.state.value},
        "outputs": outputs,
        "tasks": states,
        "vars": dict(flow.raw.get("variables") or {}),
        "labels": labels_map(ex.labels),
        "envs": env.envs,
        "globals": env.globals,
        # Weir's extension: the namespace's own variables, inherited from its parents.
        "namespace": {"id": flow.namespace, "variables": _namespace_variables(env)},
    }
    if flow.raw.get("inputs") or ex.inputs:
        # a flow without inputs has no `inputs` variable at all; the host decrypts SECRET inputs
        reveal = getattr(env.services, "reveal_inputs", None)
        context["inputs"] = reveal(ex.inputs) if reveal is not None else ex.inputs
    if ex.trigger:
        context["trigger"] = ex.trigger.get("variables") or {}
    if node is not None:
        context["task"] = {"id": node.id, "type": node.type}
    if run is not None:
        index = {r.id: r for r in ex.task_runs}
        count = run.attempt_count - 1 if running_attempt else run.attempt_count
        taskrun: dict[str, Any] = {"id": run.id, "startDate": instant_string(run.start_date),
                                   "attemptsCount": max(count, 0),
                                   "parentId": run.parent_id, "value": run.value, "iteration": run.iteration}
        if "items" in run.plan:
            taskrun["items"] = run.plan["items"]
        lineage = ancestors(ex, run, index)
        if lineage and flow.by_id.get(lineage[0].task_id) is not None and flow.node(lineage[0].task_id).runs_on_worker:
            # A WorkingDirectory's children render with its variables, as Kestra runs them inside
            # its own attempt: its loop value, and the child's own task run as `workerTaskrun`.
            context["workerTaskrun"] = dict(taskrun)
            if taskrun["value"] is None:
                taskrun["value"] = lineage[0].value
        context["taskrun"] = taskrun
        parents = []
        for parent in lineage:
            entry: dict[str, Any] = {}
            if parent.value is not None:
                entry["taskrun"] = {"value": parent.value}
            if parent.outputs is not None:
                entry["outputs"] = parent.outputs
            if entry:
                parents.append(entry)
        if parents:
            context["parents"] = parents
            context["parent"] = parents[0]
    return context


def loop_value(value: Any) -> str:
    """How a loop value is stored on a task run: a string, maps and lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if value is None:
        return "null"
    return str(value)
