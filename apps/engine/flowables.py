"""How each core flowable resolves its children and its own end (KESTRA.md §3.1, §5.4).

A flowable plugin names its `planner`; this module holds one behaviour per name. A behaviour
says which children exist (task + loop value), how they are started (sequential, parallel,
value groups, DAG), and how the parent ends once its active branch is done.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from apps.engine.context import loop_value
from apps.engine.model import Delay, TaskNode, TaskRunData
from apps.engine.states import TERMINATED, State, is_truthy
from apps.plugins.sdk import parse_duration

if TYPE_CHECKING:
    from apps.engine.planner import Planner

Resolved = tuple[TaskNode, str | None]
OK_STATES = frozenset({State.SUCCESS, State.WARNING, State.SKIPPED})


@dataclass
class Behaviour:
    mode: str = "sequential"  # sequential | parallel | groups | dag
    children: list[Resolved] = field(default_factory=list)
    concurrency: int = 0
    iteration: int | None = None
    wait: bool = False
    on_done: Callable[[Planner, TaskNode, TaskRunData, State, bool], State | None] | None = None
    nodes: list[TaskNode] | None = None
    """The distinct tasks of `children` when they repeat (a loop: the same tasks per value)."""

    def finish(self, planner: Planner, node: TaskNode, run: TaskRunData, state: State, in_errors: bool) -> bool:
        if self.on_done is not None:
            decided = self.on_done(planner, node, run, state, in_errors)
            if decided is None:
                return True  # the behaviour scheduled more work (WaitFor loop)
            state = decided
        planner.finish_run(run, state)
        return True


# ---------------------------------------------------------------------------------------------
# Branch mechanics shared by every flowable and the root


def _key(run: TaskRunData) -> tuple[str, str | None]:
    return run.task_id, run.value


def _index(kids: Sequence[TaskRunData]) -> dict[tuple[str, str | None], TaskRunData]:
    """Children by (task id, value); the latest run wins. Children usually arrive in `seq`
    order already (the snapshot is read so and new runs get the next seq), so sort only if not."""
    ordered = all(a.seq < b.seq for a, b in itertools.pairwise(kids))
    return {_key(kid): kid for kid in (kids if ordered else sorted(kids, key=lambda r: r.seq))}


Index = dict[tuple[str, str | None], TaskRunData]


def current_branch(normal: list[Resolved], errors: list[Resolved],
                   kids: Sequence[TaskRunData], index: Index | None = None) -> tuple[list[Resolved], bool]:
    """The normal children, or the `errors` branch once a child failed for good (or an error
    task already exists). KESTRA.md §5.4 "branch selection"."""
    index = _index(kids) if index is None else index
    if any((n.id, v) in index for n, v in errors):
        return errors, True
    # The children that ended badly, then whether one of them belongs to the normal branch: one
    # cheap pass over the children instead of a lookup per branch entry (a wide Parallel asks
    # this on every decision).
    failed = [key for key, run in index.items() if run.state in _BAD]
    if failed and not {(n.id, v) for n, v in normal}.isdisjoint(failed):
        return errors, True
    return normal, False


_BAD = frozenset({State.FAILED, State.KILLED})


def branch_done(current: list[Resolved], kids: Sequence[TaskRunData], in_errors: bool,
                index: Index | None = None) -> bool:
    index = _index(kids) if index is None else index
    for n, v in reversed(current):  # the last children end last: an unfinished one shows up first
        run = index.get((n.id, v))
        if run is None or run.state not in TERMINATED:
            return False
    return True


def nexts(mode: str, current: list[Resolved], kids: Sequence[TaskRunData], concurrency: int,
          index: Index | None = None) -> list[Resolved]:
    if not current:
        return []
    index = _index(kids) if index is None else index
    if mode == "parallel" and concurrency <= 0:  # no limit: only what is missing, in one pass
        return [c for c in current if (c[0].id, c[1]) not in index]
    if mode == "sequential":
        return _sequential_indexed(current, index)
    runs = [index.get((n.id, v)) for n, v in current]
    active = sum(1 for r in runs if r is not None and r.state not in TERMINATED)
    if mode == "parallel":
        missing = [c for c, r in zip(current, runs, strict=True) if r is None]
        if concurrency > 0:
            missing = missing[:max(concurrency - active, 0)]
        return missing
    if mode == "groups":
        return _groups(current, runs, concurrency)
    if mode == "dag":
        result = []
        for (n, v), r in zip(current, runs, strict=True):
            if r is not None:
                continue
            present = {c.id for c, _ in current}
            deps = [index.get((dep, v)) for dep in n.depends_on if dep in present]
            if all(d is not None and d.state in OK_STATES for d in deps):
                result.append((n, v))
        if concurrency > 0:
            result = result[:max(concurrency - active, 0)]
        return result
    raise ValueError(f"unknown planning mode {mode!r}")


def _sequential(current: list[Resolved], runs: list[TaskRunData | None]) -> list[Resolved]:
    created = [i for i, r in enumerate(runs) if r is not None]
    if not created:
        return [current[0]]
    if any(r is not None and r.state not in TERMINATED for r in runs):
        return []
    last = created[-1]
    return [current[last + 1]] if last + 1 < len(current) else []


def _sequential_indexed(current: list[Resolved], index: Index) -> list[Resolved]:
    """`_sequential` in one pass over the branch (a long loop asks this on every decision)."""
    last = -1
    for at, (node, value) in enumerate(current):
        run = index.get((node.id, value))
        if run is not None:
            if run.state not in TERMINATED:
                return []
            last = at
    if last < 0:
        return [current[0]]
    return [current[last + 1]] if last + 1 < len(current) else []


def _groups(current: list[Resolved], runs: list[TaskRunData | None], limit: int) -> list[Resolved]:
    groups: dict[str | None, list[tuple[Resolved, TaskRunData | None]]] = {}
    for item, run in zip(current, runs, strict=True):
        groups.setdefault(item[1], []).append((item, run))
    result: list[Resolved] = []
    active = 0
    waiting: list[Resolved] = []
    for members in groups.values():
        created = [r for _, r in members if r is not None]
        if not created:
            waiting.append(members[0][0])
            continue
        group_runs = [r for _, r in members]
        following = _sequential([m for m, _ in members], group_runs)
        busy = any(r is not None and r.state not in TERMINATED for r in group_runs)
        if busy or following:
            active += 1
        result.extend(following)
    for first in waiting:
        if limit > 0 and active >= limit:
            break
        result.append(first)
        active += 1
    return result


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


def behaviour(planner: Planner, node: TaskNode, run: TaskRunData) -> Behaviour:
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
        from apps.engine import foreachitem

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


def _allow_failure_done(planner: Planner, node: TaskNode, run: TaskRunData, state: State,
                        in_errors: bool) -> State:
    return State.WARNING if state in (State.FAILED, State.KILLED) else state


def _pause_done(planner: Planner, node: TaskNode, run: TaskRunData, state: State, in_errors: bool) -> State:
    return state


def _wait_for_done(planner: Planner, node: TaskNode, run: TaskRunData, state: State,
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


def start(planner: Planner, node: TaskNode, run: TaskRunData) -> None:
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
        from apps.engine import foreachitem

        foreachitem.start(planner, node, run)
    elif name == "wait_for":
        run.plan["iteration"] = 0
        run.iteration = None
        run.plan["startedAt"] = planner.env.now.timestamp()
    run.dirty = True
    planner.set_run(run, State.RUNNING)


def _loop_values(planner: Planner, node: TaskNode, run: TaskRunData, spec: Any) -> list[str]:
    from apps.engine.planner import RenderFailed

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


def _start_pause(planner: Planner, node: TaskNode, run: TaskRunData) -> None:
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


def resume_pause(planner: Planner, run: TaskRunData, on_resume: dict[str, Any] | None) -> None:
    """Resume a paused Pause task run: SUCCESS at once without children, else RUNNING them."""
    node = planner.flow.node(run.task_id)
    if node.raw.get("onResume") is not None or on_resume:
        run.outputs = {"onResume": on_resume or {}}
    run.dirty = True
    planner.set_run(run, State.RUNNING)
    if not node.slot_tasks("tasks"):
        planner.finish_run(run, State.SUCCESS)


def typed_output(kind: str, value: Any) -> Any:
    """Type a flow output the way Kestra's FlowInputOutput does for its common types."""
    kind = kind.upper()
    if value is None:
        return None
    if kind in ("INT",):
        return int(value)
    if kind == "FLOAT":
        return float(value)
    if kind in ("BOOLEAN", "BOOL"):
        if isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise ValueError(f"'{value}' is not a boolean")
            return value.lower() == "true"
        return bool(value)
    if kind in ("JSON", "ARRAY", "MULTISELECT") and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if kind in ("STRING", "ENUM", "SELECT", "URI", "EMAIL", "DATETIME", "DATE", "TIME", "DURATION", "SECRET",
                "FILE") and not isinstance(value, str):
        return loop_value(value)
    return value
