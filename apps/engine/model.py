"""In-memory shapes the engine works on: a compiled flow and an execution snapshot.

The runner (apps/executions) loads these from the database, hands them to the planner and
writes back what changed. Nothing here knows about Django.
"""

from __future__ import annotations

import secrets
import string
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.engine.states import TERMINATED, State

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

    def __setattr__(self, name: str, value: Any) -> None:
        """Tell the indexes holding this run (`RunIndex`) when its state or a write flag is set,
        so that they keep their per-state bookkeeping without walking every run."""
        watchers = self.__dict__.get("_watchers")
        if not watchers or name not in _WATCHED:
            object.__setattr__(self, name, value)
            return
        old = self.__dict__.get(name)
        object.__setattr__(self, name, value)
        for ref in list(watchers):
            index = ref()
            if index is None:
                watchers.remove(ref)
            elif name == "state":
                index.moved(self, old)
            elif value:
                index.flagged[self.id] = self

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)


_WATCHED = frozenset({"state", "new", "dirty", "dispatch"})


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
    _index: RunIndex | None = field(default=None, init=False, repr=False)

    def indexed(self) -> RunIndex:
        """The task runs by id and by parent, kept in step with `task_runs`: rebuilt when the
        list is replaced or shrinks, extended when runs were appended (the planner only
        appends), so a decision's many lookups cost one pass instead of one pass each."""
        runs = self.task_runs
        index = self._index
        if index is None or index.runs is not runs or index.count > len(runs):
            index = self._index = RunIndex(runs)
        elif index.count < len(runs):
            index.extend()
        return index

    def adopt(self, index: RunIndex) -> None:
        """Use `index`, built earlier over this very `task_runs` list (a cached snapshot's)."""
        if index.runs is self.task_runs:
            self._index = index

    def run(self, run_id: str) -> TaskRunData:
        found = self.indexed().by_id.get(run_id)
        if found is None:
            raise KeyError(run_id)
        return found

    def children_of(self, parent_id: str | None) -> list[TaskRunData]:
        return list(self.indexed().by_parent.get(parent_id, ()))

    def children(self, parent_id: str | None) -> Sequence[TaskRunData]:
        """`children_of` without the copy, for callers that only read it."""
        return self.indexed().by_parent.get(parent_id, ())

    def next_seq(self) -> int:
        return self.indexed().max_seq + 1

    def in_seq_order(self) -> list[TaskRunData]:
        """The task runs sorted by `seq` (a copy; usually already in that order, then no sort)."""
        index = self.indexed()
        return list(self.task_runs) if index.ordered else sorted(self.task_runs, key=lambda r: r.seq)


class RunIndex:
    """Lookups over an execution's task runs (see `ExecutionData.indexed`). A run's id, parent
    and seq never change once it exists, so entries stay valid while runs are only appended.

    It also keeps, up to date as runs change (each indexed run tells its indexes when its state
    or a write flag is set: `TaskRunData.__setattr__`), what a decision would otherwise find by
    walking every run: the count of runs per state, each parent's unfinished children and
    failed ones, the runs that may move (`candidates`, a superset checked when read), the runs
    with something to write (`flagged`) and the runs the host holds for its workers (`held`).
    A decision then costs what changed, not the execution's size (docs/adr/0029)."""

    __slots__ = ("__weakref__", "bad", "by_id", "by_key", "by_parent", "candidates", "complete", "count", "cursors",
                 "flagged", "held", "max_seq", "ordered", "position", "runs", "sibling", "states", "unfinished")

    def __init__(self, runs: list[TaskRunData]) -> None:
        self.runs = runs
        self.by_id: dict[str, TaskRunData] = {}
        self.position: dict[str, int] = {}
        """Where each run sits in `runs`, and in its parent's list of `by_parent` (`sibling`)."""
        self.sibling: dict[str, int] = {}
        self.complete: dict[str | None, object] = {}
        """Per parent run, the branch list (by identity) all of whose entries exist as children:
        runs are only appended and keep their task and value, so this stays true for the index's
        life (the planner's memo for an unlimited Parallel)."""
        self.cursors: dict[str | None, tuple[object, int, int]] = {}
        """Per parent run, for a sequential branch list (by identity): the position of its last
        entry that exists as a child, and how many keyed children the parent had then (the
        planner's memo for a sequential loop; see `apps.engine.branches.sequential_next`)."""
        self.by_parent: dict[str | None, list[TaskRunData]] = {}
        self.by_key: dict[str | None, dict[tuple[str, str | None], TaskRunData]] = {}
        self.states: dict[State, int] = {}
        """How many runs are in each state."""
        self.unfinished: dict[str | None, dict[str, TaskRunData]] = {}
        """Per parent, its children not in a terminal state."""
        self.bad: dict[str | None, int] = {}
        """Per parent, how many of its children are FAILED or KILLED."""
        self.candidates: dict[str, TaskRunData] = {}
        """Runs that may be able to move (created, restarted or running, or whose state was set
        since they were last looked at): the planner checks each and drops the others."""
        self.flagged: dict[str, TaskRunData] = {}
        """Runs with `new`, `dirty` or `dispatch` set since the host last took them (`take_flagged`)."""
        self.held: dict[str, None] = {}
        """Ids of runs the host marked held for its workers (docs/adr/0009), in the order they
        were held; entries that are no longer held are dropped when read (the host's `first_held`)."""
        self.count = 0
        self.max_seq = -1
        self.ordered = True
        self.extend()

    def extend(self) -> None:
        by_id, by_parent, max_seq, ordered = self.by_id, self.by_parent, self.max_seq, self.ordered
        position, sibling = self.position, self.sibling
        me = weakref.ref(self)
        for at, run in enumerate(self.runs[self.count:], start=self.count):
            by_id[run.id] = run
            position[run.id] = at
            siblings = by_parent.get(run.parent_id)
            if siblings is None:
                sibling[run.id] = 0
                by_parent[run.parent_id] = [run]
            else:
                sibling[run.id] = len(siblings)
                siblings.append(run)
            keyed = self.by_key.get(run.parent_id)
            if keyed is not None:
                latest = keyed.get((run.task_id, run.value))
                if latest is None or latest.seq < run.seq:
                    keyed[(run.task_id, run.value)] = run
            if run.seq > max_seq:
                max_seq = run.seq
            else:
                ordered = False
            self._adopt(run, me)
        self.count, self.max_seq, self.ordered = len(self.runs), max_seq, ordered

    def _adopt(self, run: TaskRunData, me: weakref.ref[RunIndex]) -> None:
        """Start watching `run` and count it in."""
        watchers = run.__dict__.get("_watchers")
        if watchers is None:
            object.__setattr__(run, "_watchers", [me])
        elif me not in watchers:
            watchers.append(me)
        self._count(run, run.state, 1)
        if run.state in _MAYBE_MOVABLE:
            self.candidates[run.id] = run
        if run.new or run.dirty or run.dispatch:
            self.flagged[run.id] = run
        if run.plan.get("held"):
            self.held[run.id] = None

    def _count(self, run: TaskRunData, state: State, sign: int) -> None:
        self.states[state] = self.states.get(state, 0) + sign
        parent = run.parent_id
        if state in _BAD:
            self.bad[parent] = self.bad.get(parent, 0) + sign
        if state not in TERMINATED:
            if sign > 0:
                self.unfinished.setdefault(parent, {})[run.id] = run
            else:
                self.unfinished.get(parent, {}).pop(run.id, None)

    def moved(self, run: TaskRunData, old: State | None) -> None:
        """`run`'s state was set (called by the run itself)."""
        if self.by_id.get(run.id) is not run:
            return  # a run this index no longer holds (replaced by a newer read)
        if old is not None and old is not run.state:
            self._count(run, old, -1)
            self._count(run, run.state, 1)
        self.candidates[run.id] = run

    def take_flagged(self) -> list[TaskRunData]:
        """The runs flagged since the last call, in `runs` order; the list starts afresh."""
        flagged, self.flagged = self.flagged, {}
        position = self.position
        return sorted((run for run in flagged.values() if self.by_id.get(run.id) is run),
                      key=lambda run: position[run.id])

    def replace(self, run: TaskRunData) -> bool:
        """Put `run` (a newer read of a run already indexed) in its predecessor's place, in
        `runs` and in every lookup; False when there is none or it is not the same run."""
        old = self.by_id.get(run.id)
        if old is None or old.parent_id != run.parent_id or old.seq != run.seq or old.task_id != run.task_id \
                or old.value != run.value:
            return False
        me = weakref.ref(self)
        watchers = old.__dict__.get("_watchers")
        if watchers and me in watchers:
            watchers.remove(me)
        self._count(old, old.state, -1)
        self.flagged.pop(run.id, None)
        self.by_id[run.id] = run
        self.runs[self.position[run.id]] = run
        self.by_parent[run.parent_id][self.sibling[run.id]] = run
        keyed = self.by_key.get(run.parent_id)
        if keyed is not None and keyed.get((run.task_id, run.value)) is old:
            keyed[(run.task_id, run.value)] = run
        self._adopt(run, me)
        self.candidates[run.id] = run
        return True

    def keyed(self, parent_id: str | None) -> dict[tuple[str, str | None], TaskRunData]:
        """The children of `parent_id` by (task id, value), the latest (highest seq) winning;
        kept up to date as runs are appended. Callers only read it."""
        keyed = self.by_key.get(parent_id)
        if keyed is None:
            keyed = self.by_key[parent_id] = {}
            for run in sorted(self.by_parent.get(parent_id, ()), key=lambda r: r.seq):
                keyed[(run.task_id, run.value)] = run
        return keyed


_BAD = frozenset({State.FAILED, State.KILLED})
_MAYBE_MOVABLE = frozenset({State.CREATED, State.RESTARTED, State.RUNNING})


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

