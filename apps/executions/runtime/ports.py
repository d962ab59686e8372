"""The ports of the orchestration runtime: where a lower module must cause something above it.

Imports point down only (docs/adr/0020). When a low module needs an upper one (a finished
decision starts subflows, a host operation resumes an execution, an execution's end wakes the
Flow triggers, a decision enqueues a Celery task or tells the live views), it calls a port
declared here, and the upper layer connects its function to that port at start-up, in
`AppConfig.ready()` (`apps/executions/wiring.py`, `apps/triggers/apps.py`,
`apps/live/apps.py`). A port holds exactly one function: a
second connection replaces the first (so `ready()` may run twice), and a call before any
connection fails loudly, naming the port, instead of silently doing nothing.

This module imports nothing of Weir at run time but the kernel's `Port` (`apps/core/ports.py`),
so every layer may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from apps.core.ports import Port, PortNotConnected

if TYPE_CHECKING:
    from apps.engine.context import Env
    from apps.engine.model import CompiledFlow, Effects, ExecutionData, TaskRunData
    from apps.executions.models import Execution

__all__ = ["Port", "PortNotConnected"]  # the kernel's, re-exported: tests and providers name them here

Event = Callable[["CompiledFlow", "ExecutionData", "Env"], "Effects"]

# -- the decision core (runner) for modules below it ----------------------------------------------

load_runs: Port[Callable[..., list[TaskRunData]]] = Port("load_runs", "apps.executions.runtime.runner")
"""An execution's task runs in `seq` order, all or those written after `since_rev=` (snapshots
reads through it on SQLite)."""

compiled: Port[Callable[[str, str, int], CompiledFlow]] = Port("compiled", "apps.executions.runtime.runner")
"""The compiled flow of one revision (dispatch reads a task's worker group from it)."""

process: Port[Callable[[str, Event], Any]] = Port("process", "apps.executions.runtime.runner")
"""One decision on an execution under its row lock (dispatch hands back a run no worker serves)."""

# -- the Celery entry points (tasks) ---------------------------------------------------------------

enqueue_run: Port[Callable[[str, int, str], None]] = Port("enqueue_run", "apps.executions.runtime.tasks")
"""Publish one attempt of a task run on a queue (`weir.run_task`)."""

# -- execution lifecycle, for the decision that just ended ----------------------------------------

render_services: Port[Callable[[Execution], Any]] = Port(
    "render_services", "apps.executions.runtime.lifecycle")
"""What expressions reach (kv, read, secrets) for one execution row (a `RenderServices`)."""

start_subflows: Port[Callable[[Execution, CompiledFlow, ExecutionData, Effects, Env], Effects | None]] = Port(
    "start_subflows", "apps.executions.runtime.lifecycle")
"""Create the child executions a decision asked for; more effects when one failed at creation."""

after_commit: Port[Callable[[Execution, ExecutionData, Effects, tuple[Any, ...] | None], None]] = Port(
    "after_commit", "apps.executions.runtime.lifecycle")
"""The side effects of a decision once it is committed (end of an execution, kills, replays)."""

# -- use cases (apps/executions/services.py) --------------------------------------------------------

create_execution: Port[Callable[..., Execution]] = Port("create_execution", "apps.executions.services")
"""Create (and start) an execution: a subflow's child, a ForEachItem batch."""

kill: Port[Callable[[str], Any]] = Port("kill", "apps.executions.services")
"""Kill an execution (a killed parent kills its children)."""

replay: Port[Callable[..., Any]] = Port("replay", "apps.executions.services")
"""Replay an execution from a task run (a subflow restarted with `restartBehavior`)."""

resume: Port[Callable[[str, Mapping[str, Any] | None], Any]] = Port("resume", "apps.executions.services")
"""Resume a PAUSED execution (the Resume core task)."""

log_json: Port[Callable[[Any, Execution], dict[str, Any]]] = Port("log_json", "apps.executions.api")
"""One log line as the API shows it (the log Fetch core task returns the same shape)."""

# -- the triggers app, beside executions ------------------------------------------------------------

execution_ended: Port[Callable[[str, tuple[Any, ...] | None], None]] = Port("execution_ended", "apps.triggers")
"""An execution reached a terminal state: the Flow triggers listening to it fire. The second
argument is `flows.services.FLOWS_CHANGED`'s answer read right after the commit, when the
decision read it (None: ask)."""

toggle_trigger: Port[Callable[[str, str, str, bool], bool]] = Port("toggle_trigger", "apps.triggers")
"""Enable or disable one trigger of a flow (the trigger Toggle core task); False when unknown."""


enqueue_trigger_start: Port[Callable[[list[str]], None]] = Port("enqueue_trigger_start", "apps.triggers.tasks")
"""Publish one message that starts these executions a trigger created (`weir.triggers.start`)."""

enqueue_poll: Port[Callable[[int, str], None]] = Port("enqueue_poll", "apps.triggers.tasks")
"""Publish one evaluation of a polling trigger (`weir.triggers.evaluate`)."""


# -- the live views (apps/live), above executions -----------------------------------------------------

live_execution_changed: Port[Callable[..., None]] = Port("live_execution_changed", "apps.live.publish")
"""Announce a committed change of one execution (state, task runs, log lines) to the live views:
`(execution_id, namespace, flow_id, state, log_seq, *, start_date=None, end_date=None)`."""

live_row_changed: Port[Callable[[Execution], None]] = Port("live_row_changed", "apps.live.publish")
"""`live_execution_changed` for an Execution row (what a decision has after saving)."""


def connected() -> Iterable[str]:
    """The names of the connected ports."""
    return [p.name for p in ALL if p._fn is not None]


ALL: list[Port[Any]] = [load_runs, compiled, process, enqueue_run, render_services, start_subflows,
                         after_commit, create_execution, kill, replay, resume, log_json, execution_ended,
                         toggle_trigger, enqueue_trigger_start, enqueue_poll, live_execution_changed,
                         live_row_changed]
