"""The scheduler's work on executions (DESIGN.md §1, RELIABILITY.md §1.6 rules 2-3):

- deliver due delays (retry back-off, pause delay/timeout, WaitFor intervals, scheduled
  starts, flow timeouts);
- the **reaper**: a RUNNING task run whose lease expired lost its worker; it goes back to
  CREATED (the lost attempt is recorded as FAILED) and is published again, unless this is the
  `WEIR_MAX_LEASE_EXPIRIES`-th worker in a row to lose it: then the task run FAILS with the reason;
- the **sweeper**: a task run still CREATED a while after it was published (a message lost with
  Redis, or a commit whose publish never happened) is published again; an execution still
  CREATED is started again.

Every query takes its rows with `SKIP LOCKED` where the database supports it, so several
schedulers can run at once.

A database outage ends a tick (the loop in apps/cli/standalone.py backs off and ticks again),
except between taking a due delay and delivering it: the delay row is gone by then, so its
delivery is tried again until the database is back (docs/adr/0013).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core import outage
from apps.engine import planner
from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.engine.model import Delay as DelayData
from apps.engine.states import State
from apps.executions import heartbeat
from apps.executions.models import Delay, Execution, TaskRun
from apps.executions.runtime import dispatch, lifecycle, results, runner

log = logging.getLogger("weir.scheduler")


def _skip_locked() -> bool:
    return bool(connection.features.has_select_for_update_skip_locked)


def sweep_seconds() -> float:
    return float(getattr(settings, "WEIR_SWEEP_SECONDS", 10))


def deliver_delays(limit: int = 200, stop: threading.Event | None = None) -> int:
    delivered = 0
    while True:
        with transaction.atomic():
            due = list(Delay.objects.select_for_update(skip_locked=_skip_locked()).filter(due__lte=timezone.now())
                       .order_by("due")[:limit])
            for delay in due:
                delay.delete()
        for delay in due:
            try:
                outage.call(lambda: _deliver(delay), stop=stop)  # noqa: B023 - called at once
            except Exception:
                log.exception("delay %s of execution %s failed", delay.kind, delay.execution_id)
            delivered += 1
        if len(due) < limit:
            return delivered


def _deliver(delay: Delay) -> None:
    if delay.kind == "start":
        lifecycle.start(delay.execution_id)
        return
    data = DelayData(kind=delay.kind, due=delay.due, task_run_id=delay.task_run_id, data=delay.data)
    runner.process(delay.execution_id, lambda f, d, e: planner.wake(f, d, data, e))


def max_lease_expiries() -> int:
    """How many workers in a row may lose the same task run before it fails (WEIR_MAX_LEASE_EXPIRIES)."""
    return max(int(getattr(settings, "WEIR_MAX_LEASE_EXPIRIES", 3)), 1)


def lost_in_a_row(attempts: list[dict[str, Any]]) -> int:
    """How many of the last attempts were lost (their worker vanished) and re-dispatched, counting
    back from the end: an attempt the reaper failed (`abandoned`) ends the streak, so a retry of
    the task starts a new count."""
    count = 0
    for attempt in reversed(attempts):
        if not attempt.get("lost") or attempt.get("abandoned"):
            break
        count += 1
    return count


def reap(now: datetime | None = None) -> int:
    """Hand task runs whose worker vanished (expired lease) back to the queue; fail those lost
    `max_lease_expiries()` times in a row (a task that kills its worker must not go round the
    workers for ever). `now` is injectable for tests."""
    now = now or timezone.now()
    reaped = 0
    # An outcome left for a busy execution whose holder went away: apply it, do not run it again.
    stranded = set(TaskRun.objects.filter(state="RUNNING", lease_until__lt=now, result__isnull=False)
                   .values_list("execution_id", flat=True)[:500])
    for execution_id in stranded:
        runner.drain(execution_id)
    expired = list(TaskRun.objects.filter(state="RUNNING", lease_until__lt=now, result__isnull=True)
                   .values_list("id", "execution_id", "attempt_no", "attempts", "queue")[:500])
    bound = max_lease_expiries()
    for run_id, execution_id, attempt_no, attempts, queue in expired:
        if lost_in_a_row(attempts[:-1]) + 1 >= bound:
            _fail_lost(execution_id, run_id, attempt_no, now, bound)
            reaped += 1
            continue
        lost = [*attempts]
        if lost:
            lost[-1] = {**lost[-1], "state": "FAILED", "endDate": now.isoformat(), "lost": True}
        updated = TaskRun.objects.filter(id=run_id, state="RUNNING", attempt_no=attempt_no,
                                         lease_until__lt=now, result__isnull=True).update(
            state="CREATED", attempts=lost, lease_until=None, dispatched_at=now, worker="")
        if updated:
            log.warning("task run %s lost its worker (attempt %s): re-dispatched", run_id, attempt_no)
            dispatch.publish(run_id, attempt_no, queue)
            reaped += 1
    return reaped


def _fail_lost(execution_id: str, run_id: str, attempt_no: int, now: datetime, bound: int) -> None:
    """End the lost attempt FAILED, with the reason, through the engine (its retry policy and
    `allowFailure` apply, as to any failed attempt); fenced like a worker's outcome."""
    reason = (f"lease expired {bound} times: the task was lost by {bound} workers in a row; "
              "it is not dispatched again")

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        run = next((r for r in data.task_runs if r.id == run_id), None)
        if run is None or run.state != State.RUNNING or run.attempt_count != attempt_no:
            return Effects()  # renewed, killed or ended meanwhile
        if run.attempts:
            run.attempts[-1] = {**run.attempts[-1], "lost": True, "abandoned": True}
        return results.fold(flow, data, {run_id: results.Outcome(attempt_no, State.FAILED, None,
                                                                 [("ERROR", reason)])}, env)

    log.warning("task run %s lost its worker %s times in a row: failed", run_id, bound)
    runner.process(execution_id, event)


def sweep() -> int:
    """Re-publish task runs stuck in CREATED; restart executions stuck in CREATED."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=sweep_seconds())
    swept = 0
    stuck = list(TaskRun.objects.filter(state__in=["CREATED", "RESTARTED"], dispatched_at__lt=cutoff)
                 .values_list("id", "attempt_no", "queue")[:500])
    for run_id, attempt_no, queue in stuck:
        if TaskRun.objects.filter(id=run_id, attempt_no=attempt_no, dispatched_at__lt=cutoff).update(
                dispatched_at=now):
            dispatch.publish(run_id, attempt_no, queue)
            swept += 1
    for execution_id in Execution.objects.filter(state="CREATED", created__lt=cutoff, schedule_date__isnull=True) \
            .exclude(delays__kind="start").values_list("id", flat=True)[:100]:
        lifecycle.start(execution_id)
        swept += 1
    return swept


def tick(stop: threading.Event | None = None) -> None:
    """One pass; `stop` ends the wait for a database that went away mid-delivery."""
    deliver_delays(stop=stop)
    reap()
    sweep()
    heartbeat.beat()  # readiness: a tick that finished (apps/executions/health.py)


__all__ = ["State", "tick"]
