"""Background services of `weir standalone` and `weir scheduler`.

Two loops: the trigger loop (schedules, polling triggers, backfills; apps/triggers), which
sleeps until the next trigger is due (at most `TICK_SECONDS`) and may hold a pass while it
prepares a big slot ahead of time; and the executions' loop (delays, the lease reaper, the
sweeper; apps/executions/runtime/scheduler.py), every `TICK_SECONDS`. Separate threads, so neither
waits for the other. In both, a tick that fails is logged and the next one runs; while the
database is unreachable the loop backs off and logs once per outage (apps/core/outage.py,
docs/adr/0013) instead of dying or filling the log.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("weir.scheduler")
_stop = threading.Event()
TICK_SECONDS = 0.5


def trigger_tick() -> float:
    """One pass of the trigger loop; returns how long to wait before the next one."""
    from django.db import close_old_connections

    from apps.triggers import scheduler as triggers

    try:
        triggers.tick()
        return triggers.seconds_until_due(TICK_SECONDS)
    finally:
        close_old_connections()


def executions_tick() -> float:
    """One pass of delays, the lease reaper and the sweeper."""
    from django.db import close_old_connections

    from apps.executions.runtime import scheduler

    try:
        scheduler.tick(_stop)
        return TICK_SECONDS
    finally:
        close_old_connections()


def _loop(tick: Callable[[], float], name: str) -> None:
    """`tick` until the stop event: a failed tick is logged and the loop goes on; one that found
    the database unreachable is tried again with back-off."""
    from apps.core import outage

    backoff = outage.Backoff()
    while not _stop.is_set():
        try:
            wait = tick()
        except Exception as exc:
            if outage.unreachable(exc):
                outage.OUTAGE.down(exc)
                outage.discard_connections()
                wait = backoff.pause()
            else:
                log.exception("%s tick failed", name)
                wait = TICK_SECONDS
        else:
            outage.OUTAGE.up()
            backoff.reset()
        _stop.wait(wait)


def run_scheduler_forever() -> None:
    """Run both loops until SIGTERM/SIGINT."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: _stop.set())
    log.info("scheduler started")
    triggers = threading.Thread(target=_loop, args=(trigger_tick, "trigger"), name="weir-trigger-loop")
    triggers.start()
    _loop(executions_tick, "executions")
    triggers.join()
    log.info("scheduler stopped")


def start_worker_threads(concurrency: int = 4) -> tuple[Any, threading.Thread]:
    """An in-process Celery worker on this process's broker, with a thread pool (standalone).
    Returns the worker (its `stop()` ends it) and the thread running it."""
    from config.celery import app

    worker = app.Worker(pool="threads", concurrency=concurrency, queues=["weir.tasks"], loglevel="WARNING",
                        without_heartbeat=True, without_mingle=True, without_gossip=True, quiet=True,
                        redirect_stdouts=False, hostname="standalone@%h")
    thread = threading.Thread(target=worker.start, name="weir-worker", daemon=True)
    thread.start()
    return worker, thread


def start_scheduler_thread() -> threading.Thread:
    """Both scheduler loops in daemon threads of this process (standalone); returns the trigger
    loop's thread."""
    threading.Thread(target=_loop, args=(executions_tick, "executions"), name="weir-scheduler", daemon=True).start()
    thread = threading.Thread(target=_loop, args=(trigger_tick, "trigger"), name="weir-trigger-loop", daemon=True)
    thread.start()
    return thread


def start_background_services() -> None:
    """Start the worker threads and the scheduler loops (standalone mode)."""
    start_worker_threads()
    start_scheduler_thread()
