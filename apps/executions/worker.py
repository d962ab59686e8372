"""Running one attempt of a runnable task (DESIGN.md §5, RELIABILITY.md §1.6 rules 1, 3, 4).

1. Claim with a conditional update (`state=CREATED AND attempt_no=n`): a redelivered message
   or a second worker finds nothing to claim and stops.
2. Hold a lease that a background thread renews; a renewal that matches no row means the run
   was killed or handed to someone else, and the attempt is cancelled.
3. Run the plugin in a thread so the task `timeout` can be enforced.
4. Write the result under the execution lock, fenced by the attempt number, and advance the
   execution in the same transaction (no extra queue hop).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from typing import Any

from django.db import close_old_connections
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from apps.engine import planner
from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.engine.states import State
from apps.executions import failpoints, runner
from apps.executions.models import Execution, TaskRun
from apps.executions.runcontext import Cancelled, TaskFailed, WorkerRunContext
from apps.plugins.registry import registry
from apps.plugins.sdk import parse_duration

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """Renews the leases of the attempts this process runs; cancels those it lost."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, int], threading.Event] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, attempt: int, cancel: threading.Event) -> None:
        with self._lock:
            self._held[(run_id, attempt)] = cancel
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="weir-lease", daemon=True)
                self._thread.start()

    def release(self, run_id: str, attempt: int) -> None:
        with self._lock:
            self._held.pop((run_id, attempt), None)

    def _loop(self) -> None:
        while True:
            time.sleep(max(runner.lease_seconds() / 3, 0.2))
            with self._lock:
                held = dict(self._held)
            if not held:
                continue
            try:
                for (run_id, attempt), cancel in held.items():
                    renewed = TaskRun.objects.filter(id=run_id, attempt_no=attempt, state="RUNNING").update(
                        lease_until=runner.lease_deadline())
                    if not renewed:
                        cancel.set()
            except Exception:
                log.exception("lease renewal failed")
            finally:
                close_old_connections()


LEASES = Leases()


def execute(task_run_id: str, attempt: int) -> None:
    """Run attempt `attempt + 1` of a task run, if it is still ours to run."""
    claimed = TaskRun.objects.filter(id=task_run_id, state__in=("CREATED", "RESTARTED"), attempt_no=attempt).update(
        state="RUNNING", attempt_no=attempt + 1, lease_until=runner.lease_deadline(), worker=WORKER_ID)
    if not claimed:
        return
    attempt += 1
    cancel = threading.Event()
    LEASES.hold(task_run_id, attempt, cancel)
    try:
        _run_claimed(task_run_id, attempt, cancel)
    finally:
        LEASES.release(task_run_id, attempt)


def _run_claimed(task_run_id: str, attempt: int, cancel: threading.Event) -> None:
    row = TaskRun.objects.get(id=task_run_id)
    ex_row = Execution.objects.get(id=row.execution_id)
    now = timezone.now()
    history = [*row.history, {"state": "RUNNING", "date": now.isoformat()}]
    attempts = [*row.attempts, {"state": "RUNNING", "startDate": now.isoformat()}]
    TaskRun.objects.filter(id=task_run_id, attempt_no=attempt).update(
        history=history, attempts=attempts, start_date=row.start_date or now.isoformat())
    data = runner.to_data(ex_row, list(TaskRun.objects.filter(execution_id=ex_row.id).order_by("seq")))
    flow = runner.compiled(ex_row.namespace, ex_row.flow_id, ex_row.flow_revision)
    run = data.run(task_run_id)
    node = flow.node(run.task_id)
    ctx = WorkerRunContext(flow, data, run, node, cancel)
    state, outputs = _run_plugin(ctx, node.type, node.raw)
    failpoints.hit("worker.after_side_effect_before_commit")
    _finish(ex_row.id, task_run_id, attempt, state, outputs, ctx)


def _run_plugin(ctx: WorkerRunContext, type_name: str, raw: Any) -> tuple[State, dict[str, Any] | None]:
    plugin = registry.get(type_name)
    if plugin is None:
        ctx.log("ERROR", f"Unknown task type '{type_name}'")
        return State.FAILED, None
    timeout = raw.get("timeout")
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            props = plugin.Properties.model_validate(ctx.render_properties(plugin, raw), context={"rendered": True})
            outputs = plugin().run(ctx, props)  # type: ignore[attr-defined]
            result["outputs"] = _dump(outputs)
            result["state"] = ctx.final_state or State.SUCCESS
        except Cancelled:
            result["state"] = State.KILLED
        except TaskFailed as error:
            ctx.log("ERROR", str(error))
            result["state"] = State.FAILED
            result["outputs"] = error.outputs
        except ValidationError as error:
            ctx.log("ERROR", f"Invalid properties after rendering: {_short(error)}")
            result["state"] = State.FAILED
        except Exception as error:
            ctx.log("ERROR", f"{type(error).__name__}: {error}")
            log.debug("task failed", exc_info=True)
            ctx.debug_trace = traceback.format_exc()
            result["state"] = State.FAILED
        finally:
            close_old_connections()

    if timeout:
        seconds = parse_duration(str(ctx.render(str(timeout))))
        thread = threading.Thread(target=target, name="weir-task", daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            ctx.cancel.set()
            ctx.log("ERROR", f"Timeout after {timeout}: the attempt is stopped")
            return State.FAILED, None
    else:
        target()
    return result.get("state", State.FAILED), result.get("outputs")


def _dump(outputs: Any) -> dict[str, Any] | None:
    if outputs is None:
        return None
    if isinstance(outputs, BaseModel):
        dumped = outputs.model_dump(mode="json", by_alias=True, exclude_none=False)
        return dumped or None
    if isinstance(outputs, dict):
        return outputs or None
    return None


def _short(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5])


def _finish(execution_id: str, task_run_id: str, attempt: int, state: State,
            outputs: dict[str, Any] | None, ctx: WorkerRunContext) -> None:
    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        run = data.run(task_run_id)
        if run.state != State.RUNNING or run.attempt_count != attempt:
            # Fenced: the run was killed, restarted or taken over; keep only the logs.
            return Effects(logs=[(task_run_id, lvl, msg) for lvl, msg in ctx.logs])
        if run.attempts and run.attempts[-1].get("state") == "RUNNING" and len(run.attempts) < attempt:
            pass
        if ctx.labels is not None:
            data.labels = ctx.merged_labels(data.labels)
        effects = planner.attempt_ended(flow, data, run, state, outputs, env)
        effects.logs[:0] = [(task_run_id, lvl, msg) for lvl, msg in ctx.logs]
        return effects

    runner.process(execution_id, event)
    ctx.flush_metrics()
