"""The contract between the planner and the behaviours that plug into it.

The planner (apps/engine/planner.py) owns the executor loop; flowable behaviours
(`flowables`), ForEachItem (`foreachitem`) and retries (`retry`) decide the parts that differ
per task kind. They see the planner only through `PlannerPort` and register their functions in
the slots below, so imports point one way: planner → protocol ← behaviours. The package's
`__init__` imports the behaviour modules, which is what fills the slots for every consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from apps.engine import context as ctx
from apps.engine.model import CompiledFlow, Effects, ExecutionData, TaskNode, TaskRunData
from apps.engine.states import State

Resolved = tuple[TaskNode, str | None]
"""A child to plan: its task and its loop value (None outside loops)."""


class RenderFailed(Exception):
    """An expression the engine itself evaluates (runIf, Switch value, If condition…) failed."""


class PlannerPort(Protocol):
    """What a behaviour may use of the planner: the snapshot, and the state moves it makes."""

    flow: CompiledFlow
    ex: ExecutionData
    env: ctx.Env
    effects: Effects

    def now_iso(self) -> str: ...

    def set_run(self, run: TaskRunData, state: State) -> bool: ...

    def set_ex(self, state: State) -> bool: ...

    def log(self, run: TaskRunData | None, level: str, message: str) -> None: ...

    def context(self, run: TaskRunData | None = None, node: TaskNode | None = None) -> dict[str, Any]: ...

    def render(self, value: Any, run: TaskRunData | None, node: TaskNode | None, *,
               typed: bool = False) -> Any: ...

    def fail_run(self, run: TaskRunData, message: str) -> None: ...

    def finish_run(self, run: TaskRunData, state: State) -> None: ...


OnDone = Callable[[PlannerPort, TaskNode, TaskRunData, State, bool], State | None]


@dataclass
class Behaviour:
    """How a running flowable plans its children, and how it ends once its branch is done."""

    mode: str = "sequential"  # sequential | parallel | groups | dag
    children: list[Resolved] = field(default_factory=list)
    concurrency: int = 0
    iteration: int | None = None
    wait: bool = False
    on_done: OnDone | None = None
    nodes: list[TaskNode] | None = None
    """The distinct tasks of `children` when they repeat (a loop: the same tasks per value)."""

    def finish(self, planner: PlannerPort, node: TaskNode, run: TaskRunData, state: State, in_errors: bool) -> bool:
        if self.on_done is not None:
            decided = self.on_done(planner, node, run, state, in_errors)
            if decided is None:
                return True  # the behaviour scheduled more work (WaitFor loop)
            state = decided
        planner.finish_run(run, state)
        return True


F = TypeVar("F", bound=Callable[..., Any])


class Slot(Generic[F]):
    """One function the planner calls and a behaviour module provides (registered once)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._fn: F | None = None

    def register(self, fn: F) -> F:
        if self._fn is not None and self._fn is not fn:
            raise RuntimeError(f"engine slot '{self.name}' is already filled by {self._fn.__qualname__}")
        self._fn = fn
        return fn

    def __call__(self) -> F:
        fn = self._fn
        if fn is None:  # only when apps.engine/__init__ was bypassed
            raise RuntimeError(f"engine slot '{self.name}' is empty: import apps.engine before planning")
        return fn


# -- the slots -------------------------------------------------------------------------------

flowable_behaviour: Slot[Callable[[PlannerPort, TaskNode, TaskRunData], Behaviour]] = Slot("flowable_behaviour")
"""The `Behaviour` of a RUNNING flowable task run (flowables.behaviour)."""

start_flowable: Slot[Callable[[PlannerPort, TaskNode, TaskRunData], None]] = Slot("start_flowable")
"""A CREATED flowable resolves its branch or loop values and goes RUNNING (flowables.start)."""

resume_pause: Slot[Callable[[PlannerPort, TaskRunData, dict[str, Any] | None], None]] = Slot("resume_pause")
"""A paused Pause task run resumes (flowables.resume_pause)."""

start_internal_part: Slot[Callable[[PlannerPort, TaskNode, TaskRunData], bool]] = Slot("start_internal_part")
"""A ForEachItem part (`<id>_split/_items/_merge`) starts (foreachitem.start_part)."""

host_step_ended: Slot[Callable[[PlannerPort, TaskRunData, State, dict[str, Any] | None,
                                dict[str, Any] | None], None]] = Slot("host_step_ended")
"""The host finished a split or merge step (foreachitem.part_ended)."""

iteration_ended: Slot[Callable[[PlannerPort, TaskRunData, int, State, dict[str, Any] | None], None]] \
    = Slot("iteration_ended")
"""One batch subflow of a ForEachItem ended (foreachitem.iteration_ended)."""

attempt_ended: Slot[Callable[[PlannerPort, TaskRunData, State, dict[str, Any] | None], None]] \
    = Slot("attempt_ended")
"""An attempt ended: retry, RETRIED or a terminal state (retry.on_attempt_end)."""
