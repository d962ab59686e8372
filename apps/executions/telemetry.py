"""Prometheus counters and histograms written where executions, task runs and log lines end
(docs/adr/0018). The gauges read at scrape time live in `scrape.py`.

With `PROMETHEUS_MULTIPROC_DIR` set (before the first import of prometheus_client: it is read
then), every process — web, each worker pool process, scheduler — writes its values to files
of its own in that directory and `/metrics` adds them up (prometheus-client's multiprocess
mode); without it, each process keeps them in memory and `/metrics` shows the web process's own.

Recording is on the engine's hot path: one dictionary lookup and a locked float add per
series, after commit, and nothing when nothing ended.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _dir:
    os.makedirs(_dir, exist_ok=True)

from prometheus_client import Counter, Histogram  # noqa: E402  (after the directory exists)

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, float("inf"))

EXECUTIONS = Counter("weir_executions", "Executions that ended, by final state.", ["namespace", "flow", "state"])
EXECUTION_SECONDS = Histogram("weir_execution_duration_seconds", "Duration of the executions that ended.",
                              ["namespace", "flow"], buckets=DURATION_BUCKETS)
TASK_RUNS = Counter("weir_task_runs", "Task runs that ended, by final state.", ["namespace", "flow", "state"])
TASK_RUN_SECONDS = Histogram("weir_task_run_duration_seconds", "Duration of the task runs that ended.",
                             ["namespace", "flow"], buckets=DURATION_BUCKETS)
LOG_LINES = Counter("weir_log_lines", "Execution log lines written, by level.", ["level"])

Ended = tuple[str, str | None, str | None]
"""(state, start date, end date) of one task run or execution, dates as ISO strings."""


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except ValueError:
        return None


def execution_ended(namespace: str, flow: str, ended: Ended) -> None:
    try:
        state, start, end = ended
        EXECUTIONS.labels(namespace, flow, state).inc()
        seconds = _seconds(start, end)
        if seconds is not None:
            EXECUTION_SECONDS.labels(namespace, flow).observe(seconds)
    except Exception:  # metrics never break an execution
        log.warning("could not record an execution's end", exc_info=True)


_task_series: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def task_runs_ended(namespace: str, flow: str, runs: Iterable[Ended]) -> None:
    try:
        for state, start, end in runs:
            key = (namespace, flow, state)
            series = _task_series.get(key)
            if series is None:  # `labels()` costs more than the update: keep the children
                series = _task_series[key] = (TASK_RUNS.labels(namespace, flow, state),
                                              TASK_RUN_SECONDS.labels(namespace, flow))
            series[0].inc()
            seconds = _seconds(start, end)
            if seconds is not None:
                series[1].observe(seconds)
    except Exception:
        log.warning("could not record task runs' ends", exc_info=True)


def log_lines(levels: Iterable[str]) -> None:
    counted: dict[str, int] = {}
    for level in levels:
        counted[level] = counted.get(level, 0) + 1
    try:
        for level, count in counted.items():
            LOG_LINES.labels(level).inc(count)
    except Exception:
        log.warning("could not count log lines", exc_info=True)
