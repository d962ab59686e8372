"""What a live view reads from the database (synchronous; consumers call it in a thread).

Every frame is built here from committed rows, with the REST API's JSON shapes, and passed
through `masked` so secret values never leave the server (DESIGN.md §7). Before masking, this
process learns what it may not have seen: the execution's namespace secrets, SECRET inputs and
the values it derived from secrets (`apps.secrets.renderers.learn`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from apps.engine.states import TERMINATED, State
from apps.executions.api.serializers import execution_json, log_json, task_run_json
from apps.executions.models import Execution, LogLine, TaskRun
from apps.secrets.masking import mask
from apps.secrets.renderers import learn

LOG_BATCH = 2000
"""Log lines per frame: small enough to parse without a long task, big enough to replay fast."""


def masked(value: Any) -> Any:
    """`value` with every string passed through the secret mask."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _digest(value: Any) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()


@dataclass
class Cursor:
    """What one subscriber has been sent: the last log `seq` and a digest per object."""

    log_seq: int = 0
    execution: str = ""
    runs: dict[str, str] = field(default_factory=dict)


@dataclass
class Delta:
    execution: dict[str, Any] | None
    task_runs: list[dict[str, Any]]
    removed: list[str]
    terminated: bool


def execution_summary(row: Execution) -> dict[str, Any]:
    data = execution_json(row)
    data.pop("variables", None)  # engine-internal; the page does not need it
    return data


def load(execution_id: str) -> Execution | None:
    return Execution.objects.filter(id=execution_id, deleted=False).first()


def delta(execution_id: str, cursor: Cursor, *, full: bool = False) -> Delta | None:
    """The execution and task runs that changed since `cursor` (all of them when `full`).

    Updates `cursor`. None when the execution is gone.
    """
    row = load(execution_id)
    if row is None:
        return None
    learn({"id": row.id, "flowId": row.flow_id, "parentId": row.trigger_execution_id or row.parent_id,
           "namespace": row.namespace, "inputs": row.inputs})
    summary = masked(execution_summary(row))
    digest = _digest(summary)
    changed_execution = summary if full or digest != cursor.execution else None
    cursor.execution = digest
    runs: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for run in TaskRun.objects.filter(execution_id=execution_id).order_by("seq"):
        data = masked(task_run_json(run))
        data["seq"] = run.seq
        run_digest = _digest(data)
        seen[run.id] = run_digest
        if full or cursor.runs.get(run.id) != run_digest:
            runs.append(data)
    removed = [run_id for run_id in cursor.runs if run_id not in seen]
    cursor.runs = seen
    return Delta(changed_execution, runs, removed, State(row.state) in TERMINATED)


def log_lines(execution_id: str, after: int, limit: int = LOG_BATCH) -> list[dict[str, Any]]:
    """Committed log lines with `seq > after`, in order (contiguous: runner.append_logs)."""
    lines = LogLine.objects.filter(execution_id=execution_id, seq__gt=after).order_by("seq")[:limit]
    out = []
    for line in lines:
        data = log_json(line)
        data.pop("executionId"), data.pop("namespace"), data.pop("flowId")
        data["message"] = mask(data["message"])
        out.append(data)
    return out
