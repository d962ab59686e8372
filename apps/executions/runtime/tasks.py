"""Celery entry points: thin, they parse ids and call one function."""

from __future__ import annotations

from celery import shared_task

from apps.executions import census, workergc
from apps.executions.runtime import publisher

census.connect_signals()  # workers count themselves in (apps/executions/census.py)
workergc.connect_signals()  # pool processes collect garbage less often (apps/executions/workergc.py)


@shared_task(name="weir.run_task", acks_late=True, reject_on_worker_lost=True, ignore_result=True)  # type: ignore[untyped-decorator]
def run_task(task_run_id: str, attempt: int, queue: str = "weir.tasks") -> None:
    from apps.executions.runtime import worker

    worker.execute(task_run_id, attempt, queue)


def enqueue_run(task_run_id: str, attempt: int, queue: str) -> None:
    """Publish `run_task` on `queue` (connected to `ports.enqueue_run`, used by dispatch)."""
    publisher.publish(run_task, [task_run_id, attempt, queue], queue)


@shared_task(name="weir.advance", acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
def advance(execution_id: str) -> None:
    from apps.core import outage
    from apps.engine import planner
    from apps.executions.runtime import runner

    outage.call(lambda: runner.process(execution_id, lambda flow, data, env: planner.advance(flow, data, env)))


@shared_task(name="weir.ping", ignore_result=True)  # type: ignore[untyped-decorator]
def ping() -> str:
    return "pong"
