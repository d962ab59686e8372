"""Running one attempt of a runnable task (DESIGN.md §5, RELIABILITY.md §1.6 rules 1, 3, 4).

1. Claim with a conditional update (`state=CREATED AND attempt_no=n`): a redelivered message
   or a second worker finds nothing to claim and stops.
2. Hold a lease that a background thread renews; a renewal that matches no row means the run
   was killed or handed to someone else, and the attempt is cancelled.
3. Run the plugin in a thread so the task `timeout` can be enforced.
4. Write the result under the execution lock, fenced by the attempt number, and advance the
   execution in the same transaction (no extra queue hop).

While the database is unreachable (docs/adr/0013) claims and result writes are retried with
back-off, so a finished attempt's outcome is written once the database is back (still fenced:
if the reaper handed the run to another worker meanwhile, only its log lines are kept). An
attempt whose plugin itself hit the outage is abandoned to the reaper: its lease expires and the
run is dispatched again.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from apps.core import outage
from apps.engine.context import Env
from apps.engine.expressions.limits import interruptible
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.engine.states import State
from apps.executions import failpoints
from apps.executions.models import TaskRun
from apps.executions.records.dbfuncs import JSONAppend
from apps.executions.runtime import dispatch, ports, results, runner, snapshots
from apps.executions.runtime.results import Outcome
from apps.executions.runtime.runcontext import Cancelled, TaskFailed, WorkerRunContext
from apps.plugins.registry import registry
from apps.plugins.sdk import parse_duration

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """Renews the leases of the attempts this process runs; cancels those it lost.

    Every `cancel_poll_seconds()` it reads the state of the attempts held longer than that, so
    a kill (which ends the run's row at once) reaches the running plugin within about that
    delay instead of at the next renewal; renewals (a write) stay at a third of the lease."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, int], tuple[threading.Event, float]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, attempt: int, cancel: threading.Event) -> None:
        with self._lock:
            self._held[(run_id, attempt)] = (cancel, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="weir-lease", daemon=True)
                self._thread.start()

    def release(self, run_id: str, attempt: int) -> None:
        with self._lock:
            self._held.pop((run_id, attempt), None)

    def _loop(self) -> None:
        renewed_at = time.monotonic()
        while True:
            poll, every = cancel_poll_seconds(), max(runner.lease_seconds() / 3, 0.2)
            time.sleep(max(min(poll, renewed_at + every - time.monotonic(), UNSETTLED.next_due()), 0.01))
            self._settle()
            with self._lock:
                held = dict(self._held)
            if not held:
                renewed_at = time.monotonic()  # a new attempt was just claimed with a full lease
                continue
            try:
                if time.monotonic() - renewed_at >= every:
                    renewed_at = time.monotonic()
                    self._renew(held)
                else:
                    self._check_cancelled(held, time.monotonic() - poll)
                outage.OUTAGE.up()
            except Exception as exc:
                if outage.unreachable(exc):  # renewed on the next round, once the database is back
                    outage.OUTAGE.down(exc)
                    outage.discard_connections()
                else:
                    log.exception("lease renewal failed")
            finally:
                close_old_connections()

    @staticmethod
    def _settle() -> None:
        """Decide on the outcomes this process left longer ago than BATCH_SECONDS whose worker is
        still busy with a later task (docs/adr/0031)."""
        for execution_id in UNSETTLED.due():
            try:
                runner.drain(execution_id, batched=True)
            except Exception as exc:  # left for the worker's own decision, or the reaper's
                if outage.unreachable(exc):
                    outage.discard_connections()
                else:
                    log.exception("deciding on the outcomes left for execution %s failed", execution_id)
            finally:
                close_old_connections()

    @staticmethod
    def _renew(held: dict[tuple[str, int], tuple[threading.Event, float]]) -> None:
        for (run_id, attempt), (cancel, _) in held.items():
            renewed = TaskRun.objects.filter(id=run_id, attempt_no=attempt, state="RUNNING").update(
                lease_until=runner.lease_deadline())
            if not renewed:
                cancel.set()

    @staticmethod
    def _check_cancelled(held: dict[tuple[str, int], tuple[threading.Event, float]], before: float) -> None:
        """Cancel the attempts (held since before `before`) whose row is no longer theirs."""
        older = {key: cancel for key, (cancel, since) in held.items() if since <= before and not cancel.is_set()}
        if not older:
            return
        current = {run_id: (attempt, state) for run_id, attempt, state in TaskRun.objects.filter(
            id__in=[run_id for run_id, _ in older]).values_list("id", "attempt_no", "state")}
        for (run_id, attempt), cancel in older.items():
            if current.get(run_id) != (attempt, "RUNNING"):
                cancel.set()


class Unsettled:
    """The executions on which this process left outcomes that no decision has folded yet, with
    when the first was left: the lease thread decides on them once they are BATCH_SECONDS old,
    so a long task taken after a batch of short ones does not hold their outcomes back."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    def left(self, execution_id: str) -> None:
        with self._lock:
            self._since.setdefault(execution_id, time.monotonic())

    def settled(self, execution_id: str) -> None:
        with self._lock:
            self._since.pop(execution_id, None)

    def next_due(self) -> float:
        """Seconds until the oldest entry is due (a day when there is none)."""
        with self._lock:
            oldest = min(self._since.values(), default=None)
        return 86400.0 if oldest is None else oldest + BATCH_SECONDS - time.monotonic()

    def due(self) -> list[str]:
        """The entries due now, taken out."""
        now = time.monotonic()
        with self._lock:
            due = [key for key, since in self._since.items() if now - since >= BATCH_SECONDS]
            for key in due:
                del self._since[key]
        return due


UNSETTLED = Unsettled()


def cancel_poll_seconds() -> float:
    """How often a worker looks for kills of the attempts it runs (setting WEIR_CANCEL_POLL_SECONDS)."""
    return max(float(getattr(settings, "WEIR_CANCEL_POLL_SECONDS", 0.5)), 0.05)


LEASES = Leases()


INLINE_LIMIT = 200
"""Tasks one Celery message may run back to back before the next one goes through the broker."""

PATIENCE_SECONDS = 60.0
"""How long a worker retries one database step while PostgreSQL is unreachable. Past that it
gives the attempt up to the reaper and the sweeper (docs/adr/0013): a longer outage costs a
re-run, never a pool process blocked for good or a lease renewed for an attempt going nowhere."""

BATCH_OUTCOMES = 32
"""How many outcomes in a row a worker may leave on their runs for a later decision while it takes
the execution's held runs one by one (docs/adr/0031)."""

BATCH_SECONDS = 0.05
"""How long the first of those outcomes may wait for its decision: the bound on how late a
finished run shows as finished, and on how late a failure elsewhere in the fan-out is acted on."""

DECISION_WAIT_SECONDS = 0.2
"""How long a worker waits for its execution's lock to apply an outcome itself. A decision
holds the lock for a few milliseconds, so waiting is cheaper than leaving the outcome for the
holder (a write, then a drain); past this the outcome is left (a long decision, or a fan-in
so wide that outcomes are better applied in batches by whoever holds the lock)."""


@dataclass
class Attempt:
    """One claimed attempt, with the snapshot it renders against when the claim came with one."""

    task_run_id: str
    number: int
    data: ExecutionData
    partial: bool = False
    """`data` holds only this run (a claim from a message); the others are read when needed."""
    held: bool = False
    """Other runs of the execution were held for its workers when this one was claimed: the
    outcome may be left for a later decision while this worker takes one of them (docs/adr/0031)."""
    left: int = 0
    """Outcomes this worker left before this attempt, not yet decided on."""
    left_since: float | None = None
    """When the first of them was left (`time.monotonic()`)."""


def execute(task_run_id: str, attempt: int, queue: str = dispatch.DEFAULT_QUEUE) -> None:
    """Run attempt `attempt + 1` of a task run, if it is still ours to run, then any task its
    result makes runnable on the same queue, inline (docs/adr/0007)."""
    try:
        data = outage.call(lambda: _claim(task_run_id, attempt), within=PATIENCE_SECONDS)
    except Exception as exc:
        if not outage.unreachable(exc):
            raise
        log.warning("task run %s left to the sweeper: the database stayed unreachable", task_run_id)
        return
    if data is None:
        return
    current: Attempt | None = Attempt(task_run_id, attempt + 1, data, partial=True)
    for left in range(INLINE_LIMIT, 0, -1):
        if current is None:
            return
        running = current
        try:
            current = _run_one(running, runner.Inline(queue, WORKER_ID, hand_off=left == 1))
        except Exception as exc:
            if not outage.unreachable(exc):
                raise
            outage.discard_connections()
            log.warning("attempt %s of task run %s left to the reaper: the database went away while it ran "
                        "or stayed unreachable", running.number, running.task_run_id)
            return


class DatabaseLost(Exception):
    """The plugin of an attempt hit a database outage: what it did cannot be trusted to be
    complete, so the attempt is left to the reaper rather than recorded as a task failure."""


# PostgreSQL: claim and read the run with its execution in one round trip.
_CLAIM = """
WITH claimed AS (
  UPDATE weir_task_run SET state = 'RUNNING', attempt_no = %s, lease_until = %s, worker = %s,
         history = history || %s::jsonb, attempts = attempts || %s::jsonb, start_date = COALESCE(start_date, %s)
   WHERE id = %s AND state IN ('CREATED', 'RESTARTED') AND attempt_no = %s
  RETURNING *)
SELECT row_to_json(e), row_to_json(claimed) FROM claimed JOIN weir_execution e ON e.id = claimed.execution_id
"""


def _claim(task_run_id: str, attempt: int) -> ExecutionData | None:
    """The conditional update that makes this worker the attempt's only runner; returns the
    execution with only this run in it, or None when the attempt is not (or no longer) ours.

    Only this run: a task whose properties hold no expression never needs the others, and on a
    wide execution reading them all would be most of the attempt's cost."""
    stamp = timezone.now().isoformat()
    running, started = {"state": "RUNNING", "date": stamp}, {"state": "RUNNING", "startDate": stamp}
    if snapshots.enabled():
        with snapshots.hot_cursor() as cursor:
            cursor.execute(_CLAIM, [attempt + 1, runner.lease_deadline(), WORKER_ID, json.dumps([running]),
                                    json.dumps([started]), stamp, task_run_id, attempt])
            found = cursor.fetchone()
        if found is None:
            return None
        return _claimed(snapshots.as_json(found[0]), snapshots.as_json(found[1]))
    claimed = TaskRun.objects.filter(id=task_run_id, state__in=("CREATED", "RESTARTED"), attempt_no=attempt).update(
        state="RUNNING", attempt_no=attempt + 1, lease_until=runner.lease_deadline(), worker=WORKER_ID,
        history=JSONAppend("history", running), attempts=JSONAppend("attempts", started),
        start_date=Coalesce("start_date", Value(stamp)))
    if not claimed:
        return None
    run_row = TaskRun.objects.select_related("execution").get(id=task_run_id)
    ports.live_row_changed.call(run_row.execution)  # the run is RUNNING now
    return runner.to_data(run_row.execution, [run_row])


def _claimed(execution: dict[str, Any], claimed: dict[str, Any]) -> ExecutionData:
    """A claim's answer (the execution and the claimed run, as `row_to_json`) as the attempt's
    snapshot, once live views are told that the run is RUNNING."""
    ports.live_execution_changed.call(execution["id"], execution["namespace"], execution["flow_id"],
                                      execution["state"], execution["log_seq"])
    return runner.to_data(SimpleNamespace(**execution), [snapshots.run_from_json(claimed)])


def _run_one(current: Attempt, inline: runner.Inline) -> Attempt | None:
    cancel = threading.Event()
    LEASES.hold(current.task_run_id, current.number, cancel)
    try:
        data = current.data
        all_runs = functools.partial(runner.load_runs, data.id) if current.partial else None
        flow = runner.compiled(data.namespace, data.flow_id, data.flow_revision)
        run = data.run(current.task_run_id)
        node = flow.node(run.task_id)
        ctx = WorkerRunContext(flow, data, run, node, cancel, all_runs)
        state, outputs = _run_plugin(ctx, node.type, node.raw)
        state = _close(ctx, state)
        failpoints.hit("worker.after_side_effect_before_commit")
        if _may_batch(current, inline, state):
            taken = outage.call(lambda: _leave_and_claim(current, inline.queue, state, outputs, ctx),
                                within=PATIENCE_SECONDS)
            if taken is not None:
                outage.call(ctx.flush_metrics, within=PATIENCE_SECONDS)
                return taken
        after = _finish(data.id, current.task_run_id, current.number, state, outputs, ctx, inline)
        if after is not None:  # the decision folded what this process left; else the lease thread looks
            UNSETTLED.settled(data.id)
    finally:
        LEASES.release(current.task_run_id, current.number)
    if after is not None and inline.claimed is not None:  # this execution's next task, or a started one's
        decided = inline.data or after
        return Attempt(inline.claimed.id, inline.claimed.attempt_count, decided, held=runner.any_held(decided))
    if inline.hand_off:
        # The lock holder decided without this worker's offer, or the run this decision picked to
        # publish was claimed by another worker before it wrote: hand a held run off here, else
        # the execution loses this worker's share for the rest of its held runs.
        if after is None or (inline.handed is None and runner.any_held(after)):
            outage.call(lambda: _hand_off_held(data.id, inline.queue), within=PATIENCE_SECONDS)
        return None
    # The outcome went to the lock holder, or another worker took the held run picked for us:
    # take a held run the way a message would, if any may be left (docs/adr/0009).
    if after is None or runner.any_held(after):
        return outage.call(lambda: _claim_held(data.id, inline.queue), within=PATIENCE_SECONDS)
    return None


# The runs held for an execution's workers on a queue, in the order they are taken (runner.is_held,
# in SQL; the partial index of unclaimed runs, migration 0008, serves it).
_HELD_RUNS = """weir_task_run
 WHERE execution_id = %s AND queue = %s AND state IN ('CREATED', 'RESTARTED') AND plan ? 'held'
   AND (plan ->> 'dispatched')::int = attempt_no
 ORDER BY seq"""

# Claim the first held run nobody is claiming, and read it with its execution (as _CLAIM), in one
# statement: a run another worker is claiming or has just claimed is skipped, not waited for.
_PICK_AND_CLAIM = f"""pick AS (
  SELECT id FROM {_HELD_RUNS} LIMIT 1 FOR UPDATE SKIP LOCKED),
claimed AS (
  UPDATE weir_task_run t SET state = 'RUNNING', attempt_no = t.attempt_no + 1, lease_until = %s, worker = %s,
         history = t.history || %s::jsonb, attempts = t.attempts || %s::jsonb,
         start_date = COALESCE(t.start_date, %s)
    FROM pick WHERE t.id = pick.id
  RETURNING t.*)"""
_CLAIM_HELD = f"""
WITH {_PICK_AND_CLAIM}
SELECT row_to_json(e), row_to_json(c) FROM claimed c JOIN weir_execution e ON e.id = c.execution_id
"""


def _pick_and_claim_params(execution_id: str, queue: str) -> list[Any]:
    """The parameters of _PICK_AND_CLAIM: which execution and queue, and the claim's stamps."""
    stamp = timezone.now().isoformat()
    running, started = {"state": "RUNNING", "date": stamp}, {"state": "RUNNING", "startDate": stamp}
    return [execution_id, queue, runner.lease_deadline(), WORKER_ID, json.dumps([running]), json.dumps([started]),
            stamp]


def _claim_held(execution_id: str, queue: str) -> Attempt | None:
    """Claim a run held for this execution's workers (docs/adr/0009) the way a message would:
    the worker whose outcome went to the lock holder must not go idle while runs wait for it.
    None only when no held run is left that another worker is not claiming: reading a few
    candidates and then claiming them one by one lost them all to the other workers taking the
    same first runs, and the worker went idle for the rest of a wide fan-out."""
    if not snapshots.enabled():
        return None  # runs are only held where the workers can be counted (PostgreSQL + Celery)
    with snapshots.hot_cursor() as cursor:
        cursor.execute(_CLAIM_HELD, _pick_and_claim_params(execution_id, queue))
        found = cursor.fetchone()
    if found is None:
        return None
    execution, claimed = snapshots.as_json(found[0]), snapshots.as_json(found[1])
    return Attempt(claimed["id"], int(claimed["attempt_no"]), _claimed(execution, claimed), partial=True, held=True)


# Publish the first held run instead of the decision that would have (docs/adr/0009): it is no
# longer held, so no worker claims it while its message travels.
_HAND_OFF = f"""
UPDATE weir_task_run t SET plan = t.plan - 'held' FROM (
  SELECT id FROM {_HELD_RUNS} LIMIT 1 FOR UPDATE SKIP LOCKED) pick
 WHERE t.id = pick.id
RETURNING t.id, t.attempt_no"""


def _hand_off_held(execution_id: str, queue: str) -> None:
    """A worker at the end of its inline budget whose outcome went to the lock holder: that
    decision had no offer to hand a held run off with, so the execution would lose this worker
    (and, were it the last, wait for the sweeper). One held run is published in its place."""
    if not snapshots.enabled():
        return
    with snapshots.hot_cursor() as cursor:
        cursor.execute(_HAND_OFF, [execution_id, queue])
        found = cursor.fetchone()
    if found is not None:
        dispatch.publish(found[0], int(found[1]), queue)


def _may_batch(current: Attempt, inline: runner.Inline, state: State) -> bool:
    """Whether this outcome may wait for a later decision (docs/adr/0031): on PostgreSQL, in an
    execution with held runs, for a success (a failure is acted on at once), while the batch is
    young and short, and not on the last run of the inline budget (whose decision hands off)."""
    if not (current.held and state == State.SUCCESS and not inline.hand_off and snapshots.enabled()):
        return False
    return current.left < BATCH_OUTCOMES - 1 and (
        current.left_since is None or time.monotonic() - current.left_since < BATCH_SECONDS)


# Leave the outcome on its run and claim one held run, in one statement: the outcome is written
# only when a run was claimed (else the worker decides on it at once), a run being claimed or
# written by someone else is skipped, and the claim reads the execution with the run (as _CLAIM).
_LEAVE_AND_CLAIM = f"""
WITH {_PICK_AND_CLAIM},
outcome AS (
  UPDATE weir_task_run SET result = %s::jsonb, lease_until = %s
   WHERE id = %s AND attempt_no = %s AND state = 'RUNNING' AND result IS NULL AND EXISTS (SELECT 1 FROM claimed)
  RETURNING id)
SELECT (SELECT count(*) FROM outcome), row_to_json(e), row_to_json(c)
  FROM claimed c JOIN weir_execution e ON e.id = c.execution_id
"""


def _leave_and_claim(current: Attempt, queue: str, state: State, outputs: dict[str, Any] | None,
                     ctx: WorkerRunContext) -> Attempt | None:
    """Leave this attempt's outcome for the next decision of its execution and take a held run
    in its place, in one round trip; None (and nothing written) when no held run was left."""
    outcome = Outcome(current.number, state, outputs, list(ctx.logs), ctx.labels)
    params = _pick_and_claim_params(current.data.id, queue)
    with snapshots.hot_cursor() as cursor:
        cursor.execute(_LEAVE_AND_CLAIM, [*params, json.dumps({**outcome.to_json(), "batched": True}),
                                          params[2], current.task_run_id, current.number])
        found = cursor.fetchone()
    if found is None:
        return None
    written, execution, claimed = found[0], snapshots.as_json(found[1]), snapshots.as_json(found[2])
    if written:
        UNSETTLED.left(current.data.id)
    else:  # fenced: the run was killed, restarted or taken over; keep only the log lines
        _keep_logs(current.data.id, current.task_run_id, outcome)
    data = _claimed(execution, claimed)
    return Attempt(claimed["id"], int(claimed["attempt_no"]), data, partial=True, held=True,
                   left=current.left + 1 if written else current.left,
                   left_since=(current.left_since or time.monotonic()) if written else current.left_since)


def _keep_logs(execution_id: str, task_run_id: str, outcome: Outcome) -> None:
    """The log lines of an outcome that no longer matched its run: the lines are kept, the rest dropped."""
    logs = [(task_run_id, level, message) for level, message in outcome.logs]
    outage.call(lambda: runner.process(execution_id, lambda flow, data, env: Effects(logs=list(logs))),
                within=PATIENCE_SECONDS)


def _close(ctx: WorkerRunContext, state: State) -> State:
    """The attempt's working directory: finished (a WorkingDirectory's last child) or removed."""
    try:
        ctx.close(state)
    except TaskFailed as error:
        ctx.log("ERROR", str(error))
        return State.FAILED
    except Exception as error:
        ctx.log("ERROR", f"finishing the working directory failed: {type(error).__name__}: {error}")
        return State.FAILED
    return state


def _run_plugin(ctx: WorkerRunContext, type_name: str, raw: Any) -> tuple[State, dict[str, Any] | None]:
    plugin = registry.get(type_name)
    if plugin is None:
        ctx.log("ERROR", f"Unknown task type '{type_name}'")
        return State.FAILED, None
    timeout = raw.get("timeout")
    result: dict[str, Any] = {}
    lost: list[BaseException] = []

    def target() -> None:
        try:
            with interruptible(ctx.cancel.is_set):  # a killed attempt's renders stop at their next check
                props = plugin.Properties.model_validate(ctx.render_properties(plugin, raw),
                                                         context={"rendered": True})
                outputs = plugin().run(ctx, props)  # type: ignore[attr-defined]
            result["outputs"] = _dump(outputs)
            result["state"] = ctx.final_state or State.SUCCESS
        except Cancelled:
            result["state"] = State.KILLED
        except Exception as error:
            if ctx.cancel.is_set():  # whatever the plugin raised on its way out of a kill
                result["state"] = State.KILLED
            elif outage.unreachable(error):
                lost.append(error)
                return
            else:
                _failed(ctx, error, result)
        finally:
            _release_connections(own_thread=threading.current_thread() is not caller)

    caller = threading.current_thread()
    if timeout:
        seconds = parse_duration(str(ctx.render(str(timeout))))
        thread = threading.Thread(target=target, name="weir-task", daemon=True)
        thread.start()
        if not _join(thread, ctx.cancel, seconds):
            ctx.cancel.set()
            ctx.log("ERROR", f"Timeout after {timeout}: the attempt is stopped")
            return State.FAILED, None
        if "state" not in result and ctx.cancel.is_set():
            return State.KILLED, None  # killed, and the plugin did not stop within the grace delay
    else:
        target()
    if lost:
        raise DatabaseLost(str(lost[0])) from lost[0]
    return result.get("state", State.FAILED), result.get("outputs")


def _release_connections(own_thread: bool) -> None:
    """A plugin thread's connections end with it. Run inline, the plugin shares the worker's
    connection, which is kept unless the plugin left it unusable: closing it by age after every
    task (SQLite's age is 0) cost a reopen and, on SQLite, a WAL checkpoint per task run."""
    if own_thread:
        close_old_connections()
        return
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"] or (conn.errors_occurred
                                                                          and not conn.is_usable()):
            conn.close()


KILL_GRACE_SECONDS = 1.0
"""How long the plugin thread of a killed attempt (a task with a `timeout`) may take to stop
before the worker stops waiting for it and takes its next task."""


def _join(thread: threading.Thread, cancel: threading.Event, seconds: float) -> bool:
    """Wait for the plugin thread; False once `seconds` passed. A kill ends the wait after a grace
    delay even if the plugin ignores it (its late result is fenced off by the attempt number)."""
    deadline = time.monotonic() + seconds
    while thread.is_alive():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if cancel.wait(min(left, 0.5)):
            thread.join(min(KILL_GRACE_SECONDS, max(left, 0.0)))
            return not thread.is_alive() or time.monotonic() < deadline
    return True


def _failed(ctx: WorkerRunContext, error: Exception, result: dict[str, Any]) -> None:
    """Record a failed attempt with a readable log line (the traceback goes to `debug_trace`)."""
    result["state"] = State.FAILED
    if isinstance(error, TaskFailed):
        ctx.log("ERROR", str(error))
        result["outputs"] = error.outputs
    elif isinstance(error, ValidationError):
        ctx.log("ERROR", f"Invalid properties after rendering: {_short(error)}")
    else:
        ctx.log("ERROR", f"{type(error).__name__}: {error}")
        log.debug("task failed", exc_info=True)
        ctx.debug_trace = "".join(traceback.format_exception(error))


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
            outputs: dict[str, Any] | None, ctx: WorkerRunContext, inline: runner.Inline | None
            ) -> ExecutionData | None:
    """Apply the outcome now, waiting a little for the lock; else leave it on the run for the holder
    (apps/executions/runtime/results.py). Returns the decision's snapshot when this worker made it."""
    outcome = Outcome(attempt, state, outputs, list(ctx.logs), ctx.labels)

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        return results.fold(flow, data, {task_run_id: outcome}, env)

    def decide() -> ExecutionData | None:
        if inline is not None:  # what a rolled-back try picked is not claimed
            inline.claimed = inline.handed = inline.data = None
        return runner.process(execution_id, event, inline=inline, wait=DECISION_WAIT_SECONDS)

    def leave() -> int:
        return TaskRun.objects.filter(id=task_run_id, attempt_no=attempt, state="RUNNING", result__isnull=True) \
            .update(result=outcome.to_json(), lease_until=runner.lease_deadline())

    # Each step is retried on its own while the database is unreachable: each is safe to repeat.
    data = outage.call(decide, within=PATIENCE_SECONDS)
    if data is None:
        if outage.call(leave, within=PATIENCE_SECONDS):
            outage.call(lambda: runner.drain(execution_id), within=PATIENCE_SECONDS)
        else:  # fenced: the run was killed, restarted or taken over; keep only the log lines
            _keep_logs(execution_id, task_run_id, outcome)
    outage.call(ctx.flush_metrics, within=PATIENCE_SECONDS)
    return data
