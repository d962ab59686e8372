"""The file work of a ForEachItem, done by the host for the engine (`HostStep`s, apps/engine/foreachitem.py).

`split` cuts the items file into batch files `<prefix><n>.txt` (n from 1) beside the
`<id>_split` task run's other files, so the `<id>_items` part derives every batch URI from the
prefix alone; `merge` writes the subflows' flow outputs, one JSON map per line, in batch order.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from apps.engine import foreachitem
from apps.engine.model import ExecutionData, HostStep, TaskRunData
from apps.engine.states import State
from apps.executions.runtime.runcontext import read_reachable
from apps.namespaces.reach import ReachDenied


class StepResult:
    """What a host step gives back to the engine."""

    def __init__(self, state: State, outputs: dict[str, Any] | None = None, plan: dict[str, Any] | None = None,
                 message: str | None = None) -> None:
        self.state = state
        self.outputs = outputs
        self.plan = plan
        self.message = message


def do_step(step: HostStep, data: ExecutionData, run: TaskRunData) -> StepResult:
    """Do one step; a bad file or setting fails the step's task run with a readable message."""
    try:
        if step.kind == "split":
            return _split(step, data, run)
        return _merge(step, data, run)
    except ReachDenied as error:
        return StepResult(State.FAILED, message=str(error))
    except (OSError, ValueError, TypeError) as error:
        return StepResult(State.FAILED, message=f"{type(error).__name__}: {error}")


def _folder(data: ExecutionData, run: TaskRunData) -> str:
    return f"{data.namespace.replace('.', '/')}/{data.flow_id}/executions/{data.id}/tasks/{run.task_id}/{run.id}/"


def _write(name: str, content: bytes) -> str:
    storage = storages["default"]
    if storage.exists(name):  # a re-run of the step replaces its files, names stay predictable
        storage.delete(name)
    saved = storage.save(name, ContentFile(content))
    return f"kestra:///{saved}"


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"batch.{name} must be a whole number, got {value!r}") from None


def _split(step: HostStep, data: ExecutionData, run: TaskRunData) -> StepResult:
    items = str(step.data.get("items") or "")
    batch = step.data.get("batch") or {}
    content = read_reachable(items, data.namespace, data.id)
    size = foreachitem.parse_size(batch["bytes"]) if batch.get("bytes") else None
    partitions = _int(batch.get("partitions"), "partitions")
    rows = _int(batch.get("rows"), "rows") if size is None and partitions is None else None
    pieces = foreachitem.split_items(content, rows=rows, size=size, partitions=partitions,
                                     separator=str(batch.get("separator") or "\n"))
    folder = _folder(data, run)
    for number, piece in enumerate(pieces, start=1):
        _write(f"{folder}{number}.txt", piece)
    return StepResult(State.SUCCESS, outputs={"numberOfBatches": len(pieces)},
                      plan={"batchPrefix": f"kestra:///{folder}"})


def _merge(step: HostStep, data: ExecutionData, run: TaskRunData) -> StepResult:
    lines = foreachitem.merge_lines(dict(step.data.get("outputs") or {}))
    if not lines:
        return StepResult(State.SUCCESS)
    body = "".join(json.dumps(line, separators=(",", ":"), default=str) + "\n" for line in lines)
    uri = _write(f"{_folder(data, run)}outputs.ion", body.encode("utf-8"))
    return StepResult(State.SUCCESS, outputs={"subflowOutputs": uri})
