"""What the execution pages show, computed once in Python so the templates stay declarative:
state colours, durations, the task-run tree, and form fields for input declarations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.engine.states import TERMINATED, State
from apps.executions.models import TaskRun

STATE_TONE = {
    "SUCCESS": "success", "WARNING": "warn", "FAILED": "danger", "KILLED": "dark", "KILLING": "dark",
    "RUNNING": "running", "RESTARTED": "running", "RETRYING": "running", "PAUSED": "paused",
    "QUEUED": "muted", "CREATED": "muted", "CANCELLED": "muted", "SKIPPED": "muted", "RETRIED": "muted",
}
LEVEL_TONE = {"ERROR": "danger", "WARN": "warn", "INFO": "info", "DEBUG": "muted", "TRACE": "muted"}


def when(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value)


def duration(start: str | datetime | None, end: str | datetime | None, now: datetime | None = None) -> str:
    """`1h 02m`, `3m 05s`, `4.2s`, `120ms`; running ones count up to `now`; blank before the start."""
    began, ended = when(start), when(end) or now
    if began is None or ended is None:
        return ""
    seconds = max((ended - began).total_seconds(), 0.0)
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def is_terminated(state: str) -> bool:
    return State(state) in TERMINATED


def pretty(value: Any) -> str:
    """A value as readable JSON (strings unquoted), for input/output cells."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@dataclass
class RunRow:
    run: TaskRun
    depth: int
    duration: str
    tone: str
    outputs: str
    attempts: int = 0
    children: int = 0


def run_tree(runs: Iterable[TaskRun], now: datetime) -> list[RunRow]:
    """Task runs in tree order (each parent followed by its children, siblings by seq), with depth."""
    ordered = sorted(runs, key=lambda r: r.seq)
    ids = {r.id for r in ordered}
    kids: dict[str | None, list[TaskRun]] = {}
    for run in ordered:
        parent = run.parent_task_run_id if run.parent_task_run_id in ids else None
        kids.setdefault(parent, []).append(run)
    rows: list[RunRow] = []

    def visit(run: TaskRun, depth: int) -> None:
        rows.append(RunRow(run=run, depth=depth, duration=duration(run.start_date, run.end_date, now),
                           tone=STATE_TONE.get(run.state, "muted"),
                           outputs=pretty(run.outputs) if run.outputs else "", attempts=len(run.attempts or []),
                           children=len(kids.get(run.id, []))))
        for kid in kids.get(run.id, []):
            visit(kid, depth + 1)

    for root in kids.get(None, []):
        visit(root, 0)
    return rows


WIDGETS = {
    "INT": "number", "FLOAT": "number", "DATE": "date", "TIME": "time", "SECRET": "password",
    "EMAIL": "email", "URI": "url", "FILE": "file", "JSON": "textarea", "YAML": "textarea", "ARRAY": "textarea",
    "BOOLEAN": "boolean", "SELECT": "select", "ENUM": "select", "MULTISELECT": "multiselect",
}
HINTS = {"DATETIME": "2024-01-31T09:30:00Z", "DURATION": "PT1H30M", "JSON": '{"key": "value"}',
         "YAML": "key: value", "ARRAY": '["a", "b"]', "URI": "https://example.com"}


@dataclass
class InputField:
    id: str
    type: str
    widget: str
    label: str
    required: bool
    description: str = ""
    default: str = ""
    hint: str = ""
    choices: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    step: str = ""


def input_fields(declarations: Iterable[Mapping[str, Any]]) -> list[InputField]:
    """A form field per declared input, pre-filled with its `defaults`."""
    fields = []
    for decl in declarations:
        input_id = str(decl.get("id") or decl.get("name") or "")
        kind = str(decl.get("type") or "STRING").upper()
        kind = "BOOLEAN" if kind == "BOOL" else kind
        default = decl.get("defaults")
        choices = [str(c) for c in (decl.get("values") or decl.get("options") or [])]
        selected = ([str(v) for v in default] if isinstance(default, list) else
                    [str(default)] if default is not None else [])
        shown = "" if default is None else (
            ("true" if default else "false") if isinstance(default, bool) else
            default if isinstance(default, str) else json.dumps(default, ensure_ascii=False))
        required = decl.get("required", True) not in (False, "false")
        fields.append(InputField(
            id=input_id, type=kind, widget=WIDGETS.get(kind, "text"),
            label=str(decl.get("displayName") or input_id), required=required,
            description=str(decl.get("description") or ""), default=shown, hint=HINTS.get(kind, ""),
            choices=choices, selected=selected, step="any" if kind == "FLOAT" else "1"))
    return fields
