"""JSON shapes the executions API adds to `serializers`: metrics, log text lines, file metas.

Kept apart from `serializers.py` (execution/task-run/log shapes) so each stays one screen long.
"""

from __future__ import annotations

from typing import Any

from apps.engine.inputs import instant_string as at
from apps.executions.models import Execution, LogLine, Metric


def metric_json(metric: Metric, row: Execution) -> dict[str, Any]:
    """A MetricEntry (KESTRA.md §5.1): `type` is `counter` or `timer`."""
    return {
        "namespace": row.namespace, "flowId": row.flow_id, "executionId": row.id,
        "taskId": metric.task_id, "taskRunId": metric.task_run_id, "type": metric.kind, "name": metric.name,
        "value": metric.value, "tags": metric.tags, "timestamp": at(metric.timestamp),
    }


def log_text(line: LogLine) -> str:
    """One line of a log download: `timestamp level [taskId] message` (no task: `[-]`)."""
    return f"{at(line.timestamp)} {line.level} [{line.task_id or '-'}] {line.message}\n"


def file_metas_json(size: int) -> dict[str, Any]:
    return {"size": size}
