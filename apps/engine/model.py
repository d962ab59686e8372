"""In-memory shapes the engine works on: a compiled flow and an execution snapshot.

The runner (apps/executions) loads these from the database, hands them to the planner and
writes back what changed. Nothing here knows about Django.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.engine.states import State

_ALPHABET = string.digits + string.ascii_letters


def new_id() -> str:
    """A 22-character base62 id, the shape of Kestra's "friendly" UUIDs."""
    number = secrets.randbits(128)
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(chars)


@dataclass(eq=False)
class TaskNode:
    """One task of a flow, with where it sits: its parent flowable and the slot it is in."""

    id: str
    type: str
    raw: Mapping[str, Any]
    kind: str  # "runnable" | "flowable"
    planner: str  # planner name for flowables, "" for runnables
    parent: TaskNode | None = None
    slot: str = "tasks"  # the parent's property holding this task ("tasks", "errors", "then", "cases.x"…)
    children: dict[str, list[TaskNode]] = field(default_factory=dict)  # slot → tasks
    is_subflow: bool = False
    is_labels: bool = False
    is_pause: bool = False
    dag_depends: list[str] | None = None
    """For children of a Dag: the sibling ids this task waits for."""
    runs_on_worker: bool = False
    """A WorkingDirectory: its children render with its variables (`workerTaskrun`)."""
    internal: str = ""
    """A part of a ForEachItem the engine adds (`split`, `items`, `merge`); run by the host."""
    _slots: dict[str, list[TaskNode]] = field(default_factory=dict, repr=False)

    @property
    def depends_on(self) -> list[str]:
        """Dag `dependsOn`, or Weir's `dependsOn` extension on any task list."""
        if self.dag_depends is not None:
            return self.dag_depends
        return list(self.raw.get("dependsOn") or [])

    @property
    def disabled(self) -> bool:
        return bool(self.raw.get("disabled"))

    def slot_tasks(self, slot: str) -> list[TaskNode]:
        """The enabled tasks of a slot (a compiled flow never changes: computed once per slot)."""
        cached = self._slots.get(slot)
        if cached is None:
            cached = self._slots[slot] = [task for task in self.children.get(slot, []) if not task.disabled]
        return list(cached)

    def ancestors(self) -> Iterator[TaskNode]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    @property
    def in_errors(self) -> bool:
        """True for tasks inside any `errors` (or `finally`) branch, at any depth."""
        node: TaskNode | None = self
        while node is not None:
            if node.slot in ("errors", "finally", "afterExecution"):
                return True
            node = node.parent
        return False


@dataclass(eq=False)
class CompiledFlow:
    namespace: str
    id: str
    revision: int
    raw: Mapping[str, Any]
    tasks: list[TaskNode]
    errors: list[TaskNode]
    finally_: list[TaskNode]
    after_execution: list[TaskNode]
    by_id: dict[str, TaskNode]

    def node(self, task_id: str) -> TaskNode:
        return self.by_id[task_id]

    @property
    def root_tasks(self) -> list[TaskNode]:
        return [task for task in self.tasks if not task.disabled]

    @property
    def root_errors(self) -> list[TaskNode]:
        return [task for task in self.errors if not task.disabled]


@dataclass(eq=False)
class TaskRunData:
    id: str
    task_id: str
    parent_id: str | None
    value: str | None
    iteration: int | None
    state: State
    history: list[dict[str, str]]
    attempts: list[dict[str, Any]]
    outputs: dict[str, Any] | None
    seq: int
    plan: dict[str, Any] = field(default_factory=dict)
    """Engine-private memory of a flowable: resolved loop values, chosen branch, loop iteration…"""
    start_date: str | None = None
    end_date: str | None = None
    new: bool = False
    dirty: bool = False
    dispatch: bool = False
    """Set by the planner when this run must be sent to a worker after commit."""

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)


@dataclass(eq=False)
class ExecutionData:
    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    state: State
    history: list[dict[str, str]]
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    labels: list[dict[str, Any]]
    variables: dict[str, Any]
    trigger: dict[str, Any] | None
    parent_id: str | None
    original_id: str
    meta: dict[str, Any]
    start_date: str | None
    end_date: str | None
    task_runs: list[TaskRunData]
    dirty: bool = False
    deleted_runs: list[str] = field(default_factory=list)

    def run(self, run_id: str) -> TaskRunData:
        for run in self.task_runs:
            if run.id == run_id:
                return run
        raise KeyError(run_id)

    def children_of(self, parent_id: str | None) -> list[TaskRunData]:
        return [run for run in self.task_runs if run.parent_id == parent_id]

    def next_seq(self) -> int:
        return max((run.seq for run in self.task_runs), default=-1) + 1


@dataclass
class Delay:
    """A wake-up the scheduler must deliver: retry back-off, pause delay/timeout, scheduled start…"""

    kind: str
    due: datetime
    task_run_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SubflowRequest:
    task_run_id: str
    namespace: str
    flow_id: str
    revision: int | None
    inputs: dict[str, Any]
    labels: list[dict[str, Any]]
    wait: bool
    schedule_date: str | None
    inherit_labels: bool
    iteration: int | None = None
    """The batch number when a ForEachItem asks for this execution."""


@dataclass
class HostStep:
    """Work the executor host does for the engine inside the execution's transaction: a
    ForEachItem's `split` (cut the items file into batch files) or `merge` (write the subflow
    outputs file). It travels with the subflow requests, which the host already handles there."""

    kind: str  # "split" | "merge"
    task_run_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Effects:
    """What the runner must do after committing the snapshot."""

    delays: list[Delay] = field(default_factory=list)
    subflows: list[SubflowRequest | HostStep] = field(default_factory=list)
    logs: list[tuple[str | None, str, str]] = field(default_factory=list)  # (task run id, level, message)
    ended: bool = False
    kill_children: bool = False
    new_execution: dict[str, Any] | None = None
    """A replay to create (flow retry with behavior CREATE_NEW_EXECUTION)."""
