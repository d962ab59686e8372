"""Background services of `weir standalone` and `weir scheduler`.

Minimal until the engine issue: the scheduler loop runs and heartbeats so that process
supervision and shutdown work; delays, the lease reaper and the sweeper plug in here.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

log = logging.getLogger("weir.scheduler")
_stop = threading.Event()
TICK_SECONDS = 1.0


def scheduler_tick() -> None:
    """One pass of scheduled work (filled in by the engine and trigger issues)."""


def run_scheduler_forever() -> None:
    """Run ticks until SIGTERM/SIGINT."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: _stop.set())
    log.info("scheduler started")
    while not _stop.is_set():
        scheduler_tick()
        _stop.wait(TICK_SECONDS)
    log.info("scheduler stopped")


def start_background_services() -> None:
    """Start the scheduler loop in a daemon thread (standalone mode)."""

    def loop() -> None:
        while not _stop.is_set():
            try:
                scheduler_tick()
            except Exception:  # keep the loop alive; the error is logged
                log.exception("scheduler tick failed")
            time.sleep(TICK_SECONDS)

    threading.Thread(target=loop, name="weir-scheduler", daemon=True).start()
