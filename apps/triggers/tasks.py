"""Celery entry points of triggers: thin, they parse ids and call one function."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="weir.triggers.start", acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
def start(execution_ids: list[str]) -> None:
    """Start executions a trigger created (each start is idempotent: a started one is left)."""
    from apps.executions.runtime import lifecycle

    for execution_id in execution_ids:
        lifecycle.start(execution_id)


@shared_task(name="weir.triggers.evaluate", acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
def evaluate(state_id: int, token: str) -> None:
    """Evaluate one polling trigger (apps/triggers/polling.py)."""
    from apps.triggers import polling

    polling.evaluate(state_id, token)


def enqueue_start(execution_ids: list[str]) -> None:
    """Publish `start` (connected to `ports.enqueue_trigger_start`, used by firing)."""
    start.delay(execution_ids)


def enqueue_evaluate(state_id: int, token: str) -> None:
    """Publish `evaluate` (connected to `ports.enqueue_poll`, used by polling)."""
    evaluate.delay(state_id, token)
