"""Background services of `weir standalone` and `weir scheduler`.

Both run the same scheduler loop (`run_ticks`): a tick that fails is logged and the next one
runs; while the database is unreachable the loop backs off and logs once per outage
(apps/core/outage.py, docs/adr/0013) instead of dying or filling the log.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

log = logging.getLogger("weir.scheduler")
_stop = threading.Event()
TICK_SECONDS = 0.5


def scheduler_tick(stop: threading.Event | None = None) -> None:
    """One pass of scheduled work: delays, the lease reaper, the sweeper."""
    from django.db import close_old_connections

    from apps.executions import scheduler

    try:
        scheduler.tick(stop)
    finally:
        close_old_connections()


def run_ticks(stop: threading.Event) -> None:
    """Scheduler ticks every TICK_SECONDS until `stop` is set. A failed tick is logged and the
    loop goes on; a tick that found the database unreachable is tried again with back-off."""
    from apps.core import outage

    backoff = outage.Backoff()
    while not stop.is_set():
        pause = TICK_SECONDS
        try:
            scheduler_tick(stop)
        except Exception as exc:
            if outage.unreachable(exc):
                outage.OUTAGE.down(exc)
                outage.discard_connections()
                pause = backoff.pause()
            else:
                log.exception("scheduler tick failed")
        else:
            outage.OUTAGE.up()
            backoff.reset()
        stop.wait(pause)


def run_scheduler_forever() -> None:
    """Run ticks until SIGTERM/SIGINT."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: _stop.set())
    log.info("scheduler started")
    run_ticks(_stop)
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


def start_background_services() -> None:
    """Start the worker threads and the scheduler loop (standalone mode)."""
    start_worker_threads()
    threading.Thread(target=run_ticks, args=(_stop,), name="weir-scheduler", daemon=True).start()
