"""The scheduler's work on executions (DESIGN.md §1, RELIABILITY.md §1.6 rules 2-3):

- deliver due delays (retry back-off, pause delay/timeout, WaitFor intervals, scheduled
  starts, flow timeouts);
- the **reaper**: a RUNNING task run whose lease expired lost its worker; it goes back to
  CREATED (the lost attempt is recorded as FAILED) and is published again;
- the **sweeper**: a task run still CREATED a while after it was published (a message lost with
  Redis, or a commit whose publish never happened) is published again; an execution still
  CREATED is started again.

Every query takes its rows with `SKIP LOCKED` where the database supports it, so several
schedulers can run at once.

A database outage ends a tick (the loop in apps/core/standalone.py backs off and ticks again),
except between taking a due delay and delivering it: the delay row is gone by then, so its
delivery is tried again until the database is back (docs/adr/0013).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core import outage
from apps.engine import planner
from apps.engine.model import Delay as DelayData
from apps.engine.states import State
from apps.executions import dispatch, lifecycle, runner
from apps.executions.models import Delay, Execution, TaskRun

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


def reap(now_: object | None = None) -> int:
    """Hand task runs whose worker vanished (expired lease) back to the queue."""
    now = timezone.now()
    reaped = 0
    # An outcome left for a busy execution whose holder went away: apply it, do not run it again.
    stranded = set(TaskRun.objects.filter(state="RUNNING", lease_until__lt=now, result__isnull=False)
                   .values_list("execution_id", flat=True)[:500])
    for execution_id in stranded:
        runner.drain(execution_id)
    expired = list(TaskRun.objects.filter(state="RUNNING", lease_until__lt=now, result__isnull=True)
                   .values_list("id", "attempt_no", "attempts", "queue")[:500])
    for run_id, attempt_no, attempts, queue in expired:
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


__all__ = ["State", "tick"]
