"""Inputs as the API receives them: where their declarations come from, and a dry run.

The dry run (`/validate`) resolves inputs exactly as creating an execution would, but stores
nothing: an upload is reported by its file name, and a plain string for a FILE input is refused
as it is on create (it would otherwise be read as a path on the server).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.core.errors import NotFound
from apps.engine.expressions import render_typed
from apps.engine.inputs import resolve_inputs
from apps.executions.models import Execution, TaskRun
from apps.executions.runtime import runner
from apps.flows.models import Flow

MASK = "******"


def declarations(namespace: str, flow_id: str, revision: int | None) -> list[Mapping[str, Any]]:
    """The `inputs` of the revision an execution would run (the latest when none is given)."""
    flow = Flow.objects.filter(namespace=namespace, flow_id=flow_id, deleted=False).only("revision").first()
    if flow is None:
        raise NotFound(f"Flow '{namespace}.{flow_id}' not found")
    rev = revision or flow.revision
    try:
        compiled = runner.compiled(namespace, flow_id, rev)
    except Exception as error:  # no such revision (or it no longer compiles)
        raise NotFound(f"Revision {rev} of flow '{namespace}.{flow_id}' not found") from error
    return list(compiled.raw.get("inputs") or [])


def on_resume_declarations(row: Execution) -> list[Mapping[str, Any]]:
    """The `onResume` inputs of the first PAUSED task run (what `resume` will resolve)."""
    paused = TaskRun.objects.filter(execution_id=row.id, state="PAUSED").order_by("seq").first()
    if paused is None:
        return []
    node = runner.compiled(row.namespace, row.flow_id, row.flow_revision).by_id.get(paused.task_id)
    return list((node.raw.get("onResume") or []) if node is not None else [])


def _type(declaration: Mapping[str, Any]) -> str:
    return str(declaration.get("type") or "").upper()


def _dry_store(input_id: str, value: Any) -> str:
    """Validation stores nothing: an upload is reported by its file name."""
    name = getattr(value, "name", None)
    if not name or isinstance(value, str):
        raise ValueError("upload the file or pass a kestra:/// URI")
    return f"(upload) {name}"


def validate_inputs(declared: Sequence[Mapping[str, Any]], provided: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One `{id, type, enabled, value, errors: [{message}]}` per declared input; SECRET values are masked."""
    types = {str(d.get("id") or d.get("name") or ""): _type(d) for d in declared}
    resolved = resolve_inputs(list(declared), provided, render_typed=render_typed, store_file=_dry_store)
    return [{
        "id": item.id, "type": types.get(item.id), "enabled": item.enabled,
        "value": MASK if types.get(item.id) == "SECRET" and item.value is not None else _shown(item.value),
        "errors": [{"message": message} for message in item.problems],
    } for item in resolved]


def _shown(value: Any) -> Any:
    """A value as JSON can carry it: an upload that failed to parse is shown by its file name."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(getattr(value, "name", None) or type(value).__name__)
