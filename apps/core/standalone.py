"""Background services of `weir standalone` and `weir scheduler`.

The scheduler loop: triggers first (schedules, polling triggers, backfills; apps/triggers), then
delays, the lease reaper and the sweeper (apps/executions/scheduler.py). Between ticks it sleeps
until the next trigger is due, at most `TICK_SECONDS`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

log = logging.getLogger("weir.scheduler")
_stop = threading.Event()
TICK_SECONDS = 0.5


def scheduler_tick() -> float:
    """One pass of scheduled work: triggers, delays, the lease reaper, the sweeper. Returns how
    long to wait before the next pass."""
    from django.db import close_old_connections

    from apps.executions import scheduler
    from apps.triggers import scheduler as triggers

    try:
        try:
            triggers.tick()
        except Exception:  # the executions' own scheduled work must go on
            log.exception("trigger tick failed")
        scheduler.tick()
        return triggers.seconds_until_due(TICK_SECONDS)
    finally:
        close_old_connections()


def run_scheduler_forever() -> None:
    """Run ticks until SIGTERM/SIGINT."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: _stop.set())
    log.info("scheduler started")
    while not _stop.is_set():
        _stop.wait(scheduler_tick())
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
    """The scheduler loop in a daemon thread of this process (standalone)."""

    def loop() -> None:
        while not _stop.is_set():
            try:
                wait = scheduler_tick()
            except Exception:  # keep the loop alive; the error is logged
                log.exception("scheduler tick failed")
                wait = TICK_SECONDS
            time.sleep(wait)

    thread = threading.Thread(target=loop, name="weir-scheduler", daemon=True)
    thread.start()
    return thread


def start_background_services() -> None:
    """Start the worker threads and the scheduler loop (standalone mode)."""
    start_worker_threads()
    start_scheduler_thread()
