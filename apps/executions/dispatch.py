"""Sending work to Celery: ids and the attempt number only (DESIGN.md §5), one queue per worker group."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from apps.engine.model import ExecutionData, TaskRunData

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "weir.tasks"


def queue_for(run: TaskRunData, data: ExecutionData) -> str:
    """`weir.wg.<key>` for a task with a `workerGroup`, else the default queue."""
    from apps.executions.runner import compiled

    node = compiled(data.namespace, data.flow_id, data.flow_revision).by_id.get(run.task_id)
    group = (node.raw.get("workerGroup") or {}).get("key") if node is not None else None
    return f"weir.wg.{group}" if group else DEFAULT_QUEUE


def publish(task_run_id: str, attempt: int, queue: str = DEFAULT_QUEUE) -> None:
    from apps.executions.tasks import run_task

    try:
        run_task.apply_async(args=[task_run_id, attempt, queue], queue=queue)
    except Exception:  # the broker is a doorbell: the sweeper re-publishes what was not sent
        log.exception("could not publish task run %s; the sweeper will retry", task_run_id)


def publish_many(items: Iterable[tuple[str, int]], data: ExecutionData, runs: list[TaskRunData]) -> None:
    for (run_id, attempt), run in zip(items, runs, strict=True):
        publish(run_id, attempt, queue_for(run, data))
