"""Kestra's JSON shapes for executions, task runs and log lines (KESTRA.md §5.1, §7.2)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.engine.inputs import instant_string as at
from apps.executions.models import Execution, LogLine, TaskRun


def _state(current: str, history: list[dict[str, Any]], start: str | None, end: str | None) -> dict[str, Any]:
    """Moments are shown as Kestra's API shows Instants (`at`), whatever their stored form."""
    return {"current": current, "histories": [{**h, "date": at(h.get("date"))} for h in history],
            "startDate": at(start or (history[0]["date"] if history else None)), "endDate": at(end)}


state_json = _state
"""A `State` as Kestra's API shapes it (the status events of the follow streams use it too)."""


def task_run_json(run: TaskRun) -> dict[str, Any]:
    return {
        "id": run.id, "executionId": run.execution_id, "taskId": run.task_id,
        "parentTaskRunId": run.parent_task_run_id, "value": run.value, "iteration": run.iteration,
        "attempts": [{"state": {"current": a.get("state"), "startDate": at(a.get("startDate")),
                                "endDate": at(a.get("endDate"))}} for a in run.attempts],
        "outputs": run.outputs, "state": _state(run.state, run.history, run.start_date, run.end_date),
    }


def execution_json(row: Execution, runs: Iterable[TaskRun] | None = None) -> dict[str, Any]:
    """An Execution as Kestra's API returns it (`taskRunList` included when `runs` is given)."""
    meta = row.meta or {}
    data: dict[str, Any] = {
        "id": row.id, "namespace": row.namespace, "flowId": row.flow_id, "flowRevision": row.flow_revision,
        "state": _state(row.state, row.history, row.start_date, row.end_date),
        "inputs": row.inputs, "labels": row.labels, "variables": row.variables,
        "trigger": row.trigger, "parentId": row.parent_id, "originalId": row.original_id,
        "metadata": {"attemptNumber": meta.get("attemptNumber", 1),
                     "originalCreatedDate": at(meta.get("originalCreatedDate"))},
        "scheduleDate": at(row.schedule_date),
        "deleted": row.deleted,
    }
    if row.outputs:
        # Kestra serializes no null: an execution whose flow outputs are not set (none declared,
        # or their rendering failed it, KESTRA.md §1) has no `outputs` at all, not `{}`.
        data["outputs"] = row.outputs
    if runs is not None:
        data["taskRunList"] = [task_run_json(r) for r in runs]
    return data


def full_execution_json(row: Execution) -> dict[str, Any]:
    return execution_json(row, TaskRun.objects.filter(execution_id=row.id).order_by("seq"))


def log_json(line: LogLine, row: Execution | None = None) -> dict[str, Any]:
    return {
        "seq": line.seq, "executionId": line.execution_id, "taskRunId": line.task_run_id, "taskId": line.task_id,
        "attemptNumber": line.attempt, "level": line.level, "message": line.message,
        "timestamp": at(line.timestamp),
        "namespace": row.namespace if row else None, "flowId": row.flow_id if row else None,
    }
