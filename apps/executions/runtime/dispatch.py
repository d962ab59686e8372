"""Sending work to Celery: ids and the attempt number only (DESIGN.md §5), one queue per worker group.

A task with `workerGroup: {key, fallback}` goes to queue `weir.wg.<key>`. When no live worker
consumes that queue, `fallback` decides: WAIT (the default) leaves the message in the broker
until a worker of the group starts; FAIL and CANCEL hand the task run back to the engine
(`planner.no_worker`). Who consumes a queue is asked with Celery's remote control
(`active_queues`, a broadcast every worker answers), cached for a few seconds: no table, no
heartbeat to keep, and a worker counts as soon as it can take a message.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from apps.engine.model import ExecutionData, TaskRunData
from apps.executions.runtime import ports

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "weir.tasks"
GROUP_QUEUE_PREFIX = "weir.wg."
CACHE_SECONDS = 5.0
"""How long an answer of `active_queues` is trusted; a queue missing from it is asked again
after `RECHECK_SECONDS`, so a worker that just started is seen quickly."""
RECHECK_SECONDS = 1.0
INSPECT_TIMEOUT = 1.0


def worker_group(run: TaskRunData, data: ExecutionData) -> dict[str, Any] | None:
    node = ports.compiled.call(data.namespace, data.flow_id, data.flow_revision).by_id.get(run.task_id)
    group = node.raw.get("workerGroup") if node is not None else None
    return group if isinstance(group, dict) and group.get("key") else None


def queue_for(run: TaskRunData, data: ExecutionData) -> str:
    """`weir.wg.<key>` for a task with a `workerGroup`, else the default queue."""
    group = worker_group(run, data)
    return f"{GROUP_QUEUE_PREFIX}{group['key']}" if group else DEFAULT_QUEUE


class Listeners:
    """The queues live workers consume, from `inspect().active_queues()`, cached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: frozenset[str] = frozenset()
        self._asked = float("-inf")

    def served(self, queue: str) -> bool:
        with self._lock:
            age = time.monotonic() - self._asked
            if age > CACHE_SECONDS or (queue not in self._queues and age > RECHECK_SECONDS):
                self._queues = self._ask()
                self._asked = time.monotonic()
            return queue in self._queues

    def forget(self) -> None:
        with self._lock:
            self._asked = float("-inf")

    @staticmethod
    def _ask() -> frozenset[str]:
        from config.celery import app

        try:
            replies = app.control.inspect(timeout=INSPECT_TIMEOUT).active_queues() or {}
        except Exception:  # broker unreachable: nobody can be seen, the fallback applies
            log.warning("could not ask the workers for their queues", exc_info=True)
            return frozenset()
        return frozenset(str(q.get("name")) for queues in replies.values() for q in queues or [])


LISTENERS = Listeners()


def budget(queue: str) -> int | None:
    """How many runs one decision publishes on `queue`, the rest being held (docs/adr/0009):
    as many as the live workers have processes for it. None (no limit) when that is unknown;
    a queue nobody is known to consume gets every message (they wait in the broker)."""
    from apps.executions import census

    return census.slots(queue)


def fallback_for(run: TaskRunData, data: ExecutionData) -> str | None:
    """FAIL or CANCEL when the run's worker group has no live worker and that is its fallback;
    None when the run may be published (a worker listens, no group, or fallback WAIT)."""
    group = worker_group(run, data)
    if group is None:
        return None
    fallback = str(group.get("fallback") or "WAIT")
    if fallback == "WAIT" or LISTENERS.served(f"{GROUP_QUEUE_PREFIX}{group['key']}"):
        return None
    return fallback


def publish(task_run_id: str, attempt: int, queue: str = DEFAULT_QUEUE) -> None:
    try:
        ports.enqueue_run.call(task_run_id, attempt, queue)
    except Exception:  # the broker is a doorbell: the sweeper re-publishes what was not sent
        log.exception("could not publish task run %s; the sweeper will retry", task_run_id)


def publish_many(data: ExecutionData, runs: list[tuple[TaskRunData, int]]) -> None:
    """Publish each run's attempt (taken when it was decided), or apply its worker group's fallback."""
    for run, attempt in runs:
        fallback = fallback_for(run, data)
        if fallback is not None:
            _no_worker(data.id, run.id, attempt, fallback)
            continue
        publish(run.id, attempt, queue_for(run, data))


def _no_worker(execution_id: str, run_id: str, attempt: int, fallback: str) -> None:
    """Give the run back to the engine, if it is still the same unclaimed attempt."""
    from apps.engine import planner
    from apps.engine.model import Effects

    def event(flow: Any, data: ExecutionData, env: Any) -> Effects:
        try:
            run = data.run(run_id)
        except KeyError:
            return Effects()
        if run.attempt_count != attempt:
            return Effects()
        return planner.no_worker(flow, data, run, fallback, env)

    ports.process.call(execution_id, event)
