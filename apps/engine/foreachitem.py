"""ForEachItem (KESTRA.md §3.1): cut a file into batches, one subflow execution per batch.

The task run of the ForEachItem is a flowable whose children are three internal task runs, in
order, as in Kestra: `<id>_split` cuts the items file into batch files, `<id>_items` starts one
subflow execution per batch (with `taskrun.items` = the batch file and `taskrun.iteration` = its
number, from 1) and counts how they end, `<id>_merge` writes their flow outputs into one file.
The file work needs storage, so split and merge are `HostStep`s the host runs in the execution's
transaction; the subflows go through the same `SubflowRequest`s as the Subflow task.

Pure: the cutting rules (`split_items`) are here too, so they are tested without storage.
"""

from __future__ import annotations

import re
from typing import Any

from apps.engine import protocol
from apps.engine.model import HostStep, SubflowRequest, TaskNode, TaskRunData
from apps.engine.protocol import PlannerPort, RenderFailed
from apps.engine.rendering import labels_list, render_deep
from apps.engine.states import TERMINATED, State, worst

FAILED_CHILD = frozenset({State.FAILED, State.KILLED, State.WARNING, State.CANCELLED})
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?B?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3,
          "T": 1024**4, "TB": 1024**4}


class BatchError(ValueError):
    """A `batch` setting that cannot cut a file (zero rows, an unreadable size…)."""


# ---------------------------------------------------------------------------------------------
# Cutting a file


def parse_size(text: Any) -> int:
    """`10MB`, `512KB`, `100` (bytes): binary units, as Kestra's DataSize."""
    match = _SIZE.match(str(text))
    if not match:
        raise BatchError(f"batch.bytes: '{text}' is not a size such as 512KB or 10MB")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def split_items(data: bytes, *, rows: int | None = None, size: int | None = None, partitions: int | None = None,
                separator: str = "\n") -> list[bytes]:
    """Batches of whole lines: `rows` lines each, at most `size` bytes each (a longer line is
    a batch of its own), or `partitions` batches dealt round-robin. Default: one line each."""
    sep = separator.encode("utf-8")
    if not sep:
        raise BatchError("batch.separator must not be empty")
    lines = data.split(sep)
    if lines and lines[-1] == b"":
        lines.pop()  # the separator ends the last line, it does not start an empty one
    if partitions is not None:
        if partitions < 1:
            raise BatchError("batch.partitions must be at least 1")
        dealt: list[list[bytes]] = [[] for _ in range(partitions)]
        for index, line in enumerate(lines):
            dealt[index % partitions].append(line)
        return [_join(group, sep) for group in dealt if group]
    if size is not None:
        if size < 1:
            raise BatchError("batch.bytes must be at least 1 byte")
        batches: list[list[bytes]] = []
        used = 0
        for line in lines:
            cost = len(line) + len(sep)
            if not batches or (batches[-1] and used + cost > size):
                batches.append([])
                used = 0
            batches[-1].append(line)
            used += cost
        return [_join(group, sep) for group in batches]
    per = 1 if rows is None else rows
    if per < 1:
        raise BatchError("batch.rows must be at least 1")
    return [_join(lines[i:i + per], sep) for i in range(0, len(lines), per)]


def _join(lines: list[bytes], sep: bytes) -> bytes:
    return sep.join(lines) + sep


def merge_lines(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The subflows' flow outputs in batch order, one map per subflow that had outputs."""
    return [outputs[key] for key in sorted(outputs, key=int) if outputs[key]]


# ---------------------------------------------------------------------------------------------
# The ForEachItem task run and its parts


def start(planner: PlannerPort, node: TaskNode, run: TaskRunData) -> None:
    """Render `items` and `batch` once; the split part reads them from the plan."""
    raw = node.raw
    items = planner.render(str(raw.get("items", "")), run, node)
    batch = dict(raw.get("batch") or {})
    rendered = {key: planner.render(value, run, node, typed=True) if isinstance(value, str) else value
                for key, value in batch.items()}
    run.plan["items"] = str(items)
    run.plan["batch"] = rendered


@protocol.start_internal_part.register
def start_part(planner: PlannerPort, node: TaskNode, run: TaskRunData) -> bool:
    """Start `<id>_split`, `<id>_items` or `<id>_merge`; returns True (the snapshot changed)."""
    assert node.parent is not None
    owner = _owner(planner, run)
    planner.set_run(run, State.RUNNING)
    run.attempts.append({"state": State.RUNNING.value, "startDate": planner.now_iso()})
    run.plan["dispatched"] = run.attempt_count
    run.dirty = True
    if node.internal == "split":
        planner.effects.subflows.append(HostStep("split", run.id, {
            "items": owner.plan.get("items"), "batch": owner.plan.get("batch") or {}}))
    elif node.internal == "merge":
        items = _sibling(planner, run, "items")
        outputs = dict(items.plan.get("outputs") or {}) if items is not None else {}
        planner.effects.subflows.append(HostStep("merge", run.id, {"outputs": outputs}))
    else:
        try:
            _start_items(planner, node.parent, owner, run)
        except RenderFailed as error:
            planner.log(run, "ERROR", str(error))
            _end(planner, run, State.FAILED)
    return True


def _start_items(planner: PlannerPort, node: TaskNode, owner: TaskRunData, run: TaskRunData) -> None:
    split = _sibling(planner, run, "split")
    count = int((split.outputs or {}).get("numberOfBatches", 0)) if split is not None else 0
    prefix = str(split.plan.get("batchPrefix", "")) if split is not None else ""
    raw = node.raw
    run.plan.update({"batches": count, "ended": {}, "outputs": {}})
    run.outputs = {"numberOfBatches": count, "iterations": _counts(run)}
    if count == 0:
        _end(planner, run, State.SUCCESS)
        return
    wait = raw.get("wait", True) is not False
    context = planner.context(run, node)
    base = dict(context["taskrun"])
    namespace = str(planner.render(raw.get("namespace"), run, node))
    flow_id = str(planner.render(raw.get("flowId"), run, node))
    for iteration in range(1, count + 1):
        context["taskrun"] = {**base, "items": batch_uri(prefix, iteration), "iteration": iteration}
        try:
            inputs = render_deep(raw.get("inputs") or {}, context, planner.env.services)
            labels = labels_list(render_deep(raw.get("labels") or {}, context, planner.env.services))
            schedule = raw.get("scheduleDate")
            schedule_date = str(render_deep(schedule, context, planner.env.services)) if schedule else None
        except Exception as error:
            raise RenderFailed(f"{type(error).__name__}: {error}") from error
        planner.effects.subflows.append(SubflowRequest(
            task_run_id=run.id, namespace=namespace, flow_id=flow_id, revision=raw.get("revision"),
            inputs=inputs if isinstance(inputs, dict) else {}, labels=labels, wait=wait,
            schedule_date=schedule_date, inherit_labels=bool(raw.get("inheritLabels")), iteration=iteration,
        ))


def batch_uri(prefix: str, iteration: int) -> str:
    return f"{prefix}{iteration}.txt"


@protocol.iteration_ended.register
def iteration_ended(planner: PlannerPort, run: TaskRunData, iteration: int, state: State,
                    outputs: dict[str, Any] | None) -> None:
    """One batch's subflow ended (or was created, without `wait`): count it; the last one ends
    the `<id>_items` run, FAILED when a subflow failed and `transmitFailed` holds."""
    if run.state in TERMINATED:
        return
    ended: dict[str, str] = run.plan.setdefault("ended", {})
    key = str(iteration)
    if key in ended:
        return  # told twice (a redelivered notification): counted once
    ended[key] = state.value
    if outputs:
        run.plan.setdefault("outputs", {})[key] = outputs
    run.outputs = {"numberOfBatches": int(run.plan.get("batches", 0)), "iterations": _counts(run)}
    run.dirty = True
    if len(ended) < int(run.plan.get("batches", 0)):
        return
    node = planner.flow.node(run.task_id)
    transmit = node.parent is None or node.parent.raw.get("transmitFailed", True) is not False
    states = [State(value) for value in ended.values()]
    final = State.SUCCESS
    if transmit and any(s in FAILED_CHILD for s in states):
        final = worst(State.FAILED if s == State.CANCELLED else s for s in states)
    _end(planner, run, final)


@protocol.host_step_ended.register
def part_ended(planner: PlannerPort, run: TaskRunData, state: State, outputs: dict[str, Any] | None,
               plan: dict[str, Any] | None = None) -> None:
    """The host finished a split or merge step."""
    if run.state in TERMINATED:
        return
    if plan:
        run.plan.update(plan)
    if outputs is not None:
        run.outputs = outputs
    _end(planner, run, state)


def finish(planner: PlannerPort, node: TaskNode, run: TaskRunData, state: State, in_errors: bool) -> State:
    """The ForEachItem run ends: its outputs gather its parts' (`numberOfBatches`, `iterations`, `uri`)."""
    items = next((k for k in planner.ex.children_of(run.id) if k.task_id == f"{node.id}_items"), None)
    merge = next((k for k in planner.ex.children_of(run.id) if k.task_id == f"{node.id}_merge"), None)
    outputs: dict[str, Any] = dict(items.outputs or {}) if items is not None else {}
    if merge is not None and merge.outputs and merge.outputs.get("subflowOutputs"):
        outputs["uri"] = merge.outputs["subflowOutputs"]
    if outputs:
        run.outputs = outputs
        run.dirty = True
    return state


def _end(planner: PlannerPort, run: TaskRunData, state: State) -> None:
    if run.attempts and run.attempts[-1].get("state") == State.RUNNING.value:
        run.attempts[-1].update({"state": state.value, "endDate": planner.now_iso()})
    run.dirty = True
    planner.finish_run(run, state)


def _counts(run: TaskRunData) -> dict[str, int]:
    """Subflow executions by state, as Kestra reports them: CREATED and RUNNING always present."""
    ended = run.plan.get("ended") or {}
    counts = {"CREATED": max(int(run.plan.get("batches", 0)) - len(ended), 0), "RUNNING": 0}
    for value in ended.values():
        counts[value] = counts.get(value, 0) + 1
    return counts


def _owner(planner: PlannerPort, run: TaskRunData) -> TaskRunData:
    assert run.parent_id is not None
    return planner.ex.run(run.parent_id)


def _sibling(planner: PlannerPort, run: TaskRunData, part: str) -> TaskRunData | None:
    node = planner.flow.node(run.task_id)
    assert node.parent is not None
    wanted = f"{node.parent.id}_{part}"
    return next((k for k in planner.ex.children_of(run.parent_id) if k.task_id == wanted), None)
