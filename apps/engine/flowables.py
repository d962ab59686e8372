"""How each core flowable resolves its children and its own end (KESTRA.md §3.1, §5.4).

A flowable plugin names its `planner`; this module holds one behaviour per name. A behaviour
says which children exist (task + loop value), how they are started (sequential, parallel,
value groups, DAG), and how the parent ends once its active branch is done.
"""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

from apps.engine import foreachitem, protocol
from apps.engine.context import loop_value
from apps.engine.model import Delay, TaskNode, TaskRunData
from apps.engine.protocol import Behaviour, PlannerPort, RenderFailed, Resolved
from apps.engine.states import State, is_truthy
from apps.plugins.sdk import parse_duration

# ---------------------------------------------------------------------------------------------
# Behaviours


_SLOT_LISTS: dict[tuple[int, str], tuple[TaskNode, list[Resolved]]] = {}


def _list(node: TaskNode, slot: str, value: str | None = None) -> list[Resolved]:
    """The (task, value) entries of a slot. Without a value the list is built once per node and
    slot and shared (callers only read it): a wide Parallel asks for it on every step, and the
    planner recognises a branch it already found complete by this list's identity."""
    if value is not None:
        return [(t, value) for t in node.slot_tasks(slot)]
    cached = _SLOT_LISTS.get((id(node), slot))
    if cached is not None and cached[0] is node:
        return cached[1]
    entries: list[Resolved] = [(t, None) for t in node.slot_tasks(slot)]
    if len(_SLOT_LISTS) >= 4096:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # another thread evicted it
            _SLOT_LISTS.pop(next(iter(_SLOT_LISTS)))
    _SLOT_LISTS[(id(node), slot)] = (node, entries)
    return entries


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


@protocol.flowable_behaviour.register
def behaviour(planner: PlannerPort, node: TaskNode, run: TaskRunData) -> Behaviour:
    raw = node.raw
    name = node.planner
    if name in ("sequential",):
        return Behaviour(children=_list(node, "tasks"))
    if name == "allow_failure":
        return Behaviour(children=_list(node, "tasks"), on_done=_allow_failure_done)
    if name == "parallel":
        return Behaviour(mode="parallel", children=_list(node, "tasks"), concurrency=_int(raw.get("concurrent"), 0))
    if name == "dag":
        return Behaviour(mode="dag", children=_list(node, "tasks"), concurrency=_int(raw.get("concurrent"), 0))
    if name in ("switch", "if"):
        slot = run.plan.get("slot")
        return Behaviour(children=_list(node, slot) if slot else [])
    if name in ("foreach", "each_sequential", "each_parallel"):
        values = run.plan.get("values") or []
        tasks = node.slot_tasks("tasks")
        children = _loop_children(node, values, tasks)
        if name == "each_sequential":
            return Behaviour(children=children, nodes=tasks)
        if name == "each_parallel":
            return Behaviour(mode="parallel", children=children, concurrency=_int(raw.get("concurrent"), 0),
                             nodes=tasks)
        limit = _int(raw.get("concurrencyLimit"), 1)
        if limit == 1:
            return Behaviour(children=children, nodes=tasks)
        return Behaviour(mode="groups", children=children, concurrency=limit, nodes=tasks)
    if name == "pause":
        return Behaviour(children=_list(node, "tasks"), on_done=_pause_done)
    if name == "for_each_item":
        return Behaviour(children=_list(node, "tasks"), on_done=foreachitem.finish)
    if name == "wait_for":
        if run.plan.get("waiting"):
            return Behaviour(wait=True)
        return Behaviour(children=_list(node, "tasks"), iteration=int(run.plan.get("iteration", 0)),
                         on_done=_wait_for_done)
    # Any other planner name (third-party flowables, WorkingDirectory, Template, ForEachItem)
    return Behaviour(children=_list(node, "tasks"))


_LOOPS: dict[tuple[int, int], tuple[list[Any], list[TaskNode], list[Resolved]]] = {}


def _loop_children(node: TaskNode, values: list[Any], tasks: list[TaskNode]) -> list[Resolved]:
    """(task, value) for every value, built once per values list: the planner asks on every step
    and a loop over thousands of values made that a pass of its own. The entry holds `values`,
    so its id cannot be reused while cached; callers only read the list."""
    key = (id(node), id(values))
    cached = _LOOPS.get(key)
    if cached is not None and cached[0] is values and len(cached[1]) == len(tasks) \
            and all(a is b for a, b in zip(cached[1], tasks, strict=True)):
        return cached[2]
    children = [(t, v) for v in values for t in tasks]
    if len(_LOOPS) >= 64:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # another thread evicted it
            _LOOPS.pop(next(iter(_LOOPS)))
    _LOOPS[key] = (values, tasks, children)
    return children


def _allow_failure_done(planner: PlannerPort, node: TaskNode, run: TaskRunData, state: State,
                        in_errors: bool) -> State:
    return State.WARNING if state in (State.FAILED, State.KILLED) else state


def _pause_done(planner: PlannerPort, node: TaskNode, run: TaskRunData, state: State, in_errors: bool) -> State:
    return state


def _wait_for_done(planner: PlannerPort, node: TaskNode, run: TaskRunData, state: State,
                   in_errors: bool) -> State | None:
    iteration = int(run.plan.get("iteration", 0))
    run.outputs = {"iterationCount": iteration + 1}
    run.dirty = True
    if state in (State.FAILED, State.KILLED) or in_errors:
        return state
    try:
        rendered = planner.render(str(node.raw.get("condition", "")), run, node)
    except Exception as error:
        planner.log(run, "ERROR", f"condition: {error}")
        return State.FAILED
    if is_truthy(rendered):
        return state
    frequency = node.raw.get("checkFrequency") or {}
    max_iterations = _int(frequency.get("maxIterations"), 100)
    max_duration = parse_duration(str(frequency.get("maxDuration", "PT1H")))
    interval = parse_duration(str(frequency.get("interval", "PT1S")))
    started = run.plan.get("startedAt")
    elapsed = (planner.env.now.timestamp() - float(started)) if started else 0.0
    if iteration + 1 >= max_iterations or elapsed >= max_duration:
        planner.log(run, "WARN", "WaitFor reached its maximum iterations or duration")
        return State.FAILED if node.raw.get("failOnMaxReached") else state
    run.plan["waiting"] = True
    planner.effects.delays.append(Delay("wait_for", planner.env.now + timedelta(seconds=interval), run.id))
    return None


# ---------------------------------------------------------------------------------------------
# Starting a flowable task run


@protocol.start_flowable.register
def start(planner: PlannerPort, node: TaskNode, run: TaskRunData) -> None:
    """A CREATED flowable goes RUNNING and resolves what it needs once (branch, loop values)."""
    raw = node.raw
    name = node.planner
    if name == "pause":
        _start_pause(planner, node, run)
        return
    if name == "switch":
        value = planner.render(str(raw.get("value", "")), run, node)
        value = loop_value(value) if not isinstance(value, str) else value
        slot = f"cases.{value}"
        if slot not in node.children:
            slot = "defaults" if node.slot_tasks("defaults") else ""
        if not slot:
            planner.set_run(run, State.RUNNING)
            planner.fail_run(run, f"Switch '{node.id}': no case matches the value '{value}' and there are no defaults")
            return
        run.plan["slot"] = slot
        run.outputs = {"value": value, "defaults": slot == "defaults"}
    elif name == "if":
        result = is_truthy(planner.render(str(raw.get("condition", "")), run, node))
        run.plan["slot"] = "then" if result else "else"
        run.outputs = {"evaluationResult": result}
    elif name in ("foreach", "each_sequential", "each_parallel"):
        run.plan["values"] = _loop_values(planner, node, run, raw.get("values" if name == "foreach" else "value"))
    elif name == "for_each_item":
        foreachitem.start(planner, node, run)
    elif name == "wait_for":
        run.plan["iteration"] = 0
        run.iteration = None
        run.plan["startedAt"] = planner.env.now.timestamp()
    run.dirty = True
    planner.set_run(run, State.RUNNING)


def _loop_values(planner: PlannerPort, node: TaskNode, run: TaskRunData, spec: Any) -> list[str]:
    if isinstance(spec, str):
        rendered = planner.render(spec, run, node)
        try:
            values = json.loads(rendered) if isinstance(rendered, str) else rendered
        except json.JSONDecodeError as error:
            raise RenderFailed(f"values must be a JSON array, got {rendered!r}: {error}") from error
    elif isinstance(spec, list):
        values = [planner.render(v, run, node) if isinstance(v, str) else v for v in spec]
    else:
        values = []
    if not isinstance(values, list):
        raise RenderFailed(f"values must render to a list, got {type(values).__name__}")
    nulls = sum(1 for v in values if v is None)
    if nulls:
        raise RenderFailed(f"Found '{nulls}' null values on Each, with values={java_repr(values)}")
    distinct: list[str] = []
    for value in values:
        text = loop_value(value)
        if text not in distinct:
            distinct.append(text)
    return distinct


def java_repr(value: Any) -> str:
    """Java's `toString` of lists and maps, for messages that quote Kestra's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(java_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_repr(v)}" for k, v in value.items()) + "}"
    return str(value)


def _start_pause(planner: PlannerPort, node: TaskNode, run: TaskRunData) -> None:
    raw = node.raw
    planner.set_run(run, State.RUNNING)
    delay = raw.get("delay")
    timeout = raw.get("timeout")
    now = planner.env.now
    if delay:
        seconds = parse_duration(str(planner.render(str(delay), run, node)))
        planner.effects.delays.append(Delay("pause_delay", now + timedelta(seconds=seconds), run.id))
    if timeout:
        seconds = parse_duration(str(planner.render(str(timeout), run, node)))
        planner.effects.delays.append(Delay("pause_timeout", now + timedelta(seconds=seconds), run.id))
    planner.set_run(run, State.PAUSED)


@protocol.resume_pause.register
def resume_pause(planner: PlannerPort, run: TaskRunData, on_resume: dict[str, Any] | None) -> None:
    """Resume a paused Pause task run: SUCCESS at once without children, else RUNNING them."""
    node = planner.flow.node(run.task_id)
    if node.raw.get("onResume") is not None or on_resume:
        run.outputs = {"onResume": on_resume or {}}
    run.dirty = True
    planner.set_run(run, State.RUNNING)
    if not node.slot_tasks("tasks"):
        planner.finish_run(run, State.SUCCESS)
