"""Inputs as the API receives them: where their declarations come from, a dry-run validation,
and a guard on FILE inputs.

The guard exists because a FILE value that is a plain string is handed to storage as a *local
path* (the engine's `store_file` contract: hosts pass temp files of an upload that way). A string
from a JSON body or a multipart text field is the caller's, so it must be a storage URI: anything
else would let a caller have the server copy one of its own files into the execution.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from apps.core.errors import NotFound, Problem, Unprocessable
from apps.engine.expressions import render_typed
from apps.engine.inputs import resolve_inputs
from apps.executions import runner
from apps.executions.models import Execution, TaskRun
from apps.flows.models import Flow

URI_SCHEMES = ("kestra://", "weir://")
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


def _file_strings(declaration: Mapping[str, Any], value: Any) -> list[str]:
    """The plain strings given for a FILE input (or an ARRAY of FILE items)."""
    if _type(declaration) == "FILE":
        return [value] if isinstance(value, str) else []
    if _type(declaration) == "ARRAY" and str(declaration.get("itemType") or "").upper() == "FILE":
        items = value
        if isinstance(value, str):
            try:
                items = json.loads(value)
            except ValueError:
                return []
        return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []
    return []


def refuse_local_paths(declared: Sequence[Mapping[str, Any]], provided: Mapping[str, Any]) -> None:
    problems = []
    for declaration in declared:
        input_id = str(declaration.get("id") or declaration.get("name") or "")
        for text in _file_strings(declaration, provided.get(input_id)):
            if text and not text.startswith(URI_SCHEMES):
                problems.append(Problem(path=f"inputs.{input_id}", message=(
                    f"Invalid input for `{input_id}`, upload the file (multipart part `files`, filename "
                    f"`{input_id}`) or pass an internal-storage URI (`kestra:///…`)")))
    if problems:
        raise Unprocessable("Invalid inputs: " + "; ".join(p.message for p in problems), problems=problems)


def _dry_store(input_id: str, value: Any) -> str:
    """Validation stores nothing: an upload is reported by its file name."""
    name = getattr(value, "name", None)
    if not name or isinstance(value, str):
        raise ValueError("upload the file or pass a kestra:/// URI")
    return f"(upload) {name}"


def validate_inputs(declared: Sequence[Mapping[str, Any]], provided: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One `{id, type, enabled, value, errors: [{message}]}` per declared input; SECRET values are masked."""
    refuse_local_paths(declared, provided)
    types = {str(d.get("id") or d.get("name") or ""): _type(d) for d in declared}
    resolved = resolve_inputs(list(declared), provided, render_typed=render_typed, store_file=_dry_store)
    return [{
        "id": item.id, "type": types.get(item.id), "enabled": item.enabled,
        "value": MASK if types.get(item.id) == "SECRET" and item.value is not None else item.value,
        "errors": [{"message": message} for message in item.problems],
    } for item in resolved]
