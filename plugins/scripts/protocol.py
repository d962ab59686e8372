"""The stdout/stderr protocol of Kestra's script tasks (PLUGINS.md §4.4).

A line that is exactly `::{…}::` carries JSON for the host and is not logged: `outputs` are
shallow-merged into the task's `vars`, `metrics` become counters and timers, `logs` are
re-logged at their level. Every other line is a log line (stdout at INFO, stderr at ERROR).
The PyPI `kestra` package's `Kestra.outputs()/counter()/timer()` print exactly this form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from apps.plugins.sdk import parse_duration

LINE = re.compile(r"^::(\{.*\})::$")
LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR"}


@dataclass
class Collected:
    """What the protocol lines of one run said, in order."""

    vars: dict[str, Any] = field(default_factory=dict)
    metrics: list[tuple[str, str, float, dict[str, str]]] = field(default_factory=list)
    stdout_lines: int = 0
    stderr_lines: int = 0


def parse(line: str, collected: Collected) -> list[tuple[str, str]] | None:
    """Read one line. Returns None when it is an ordinary log line, else the log entries it
    asks for (possibly none), after folding its outputs and metrics into `collected`."""
    match = LINE.match(line) if line.startswith("::") else None
    if match is None:
        return None
    try:
        payload = json.loads(match.group(1))
    except ValueError:
        return [("WARN", f"Invalid outputs: the line is not JSON: {line[:200]}")]
    if not isinstance(payload, dict):
        return [("WARN", "Invalid outputs: expected a JSON object")]
    logs: list[tuple[str, str]] = []
    outputs = _without_nul(payload.get("outputs"))
    if isinstance(outputs, dict):
        collected.vars.update(outputs)
    elif outputs is not None:
        logs.append(("WARN", "Invalid outputs: 'outputs' must be an object"))
    for metric in payload.get("metrics") or []:
        problem = _metric(metric, collected)
        if problem:
            logs.append(("WARN", problem))
    for entry in payload.get("logs") or []:
        if isinstance(entry, dict) and "message" in entry:
            level = str(entry.get("level", "INFO")).upper()
            logs.append(("WARN" if level == "WARNING" else level if level in LEVELS else "INFO",
                         str(entry["message"])))
    return logs


def _without_nul(value: Any) -> Any:
    """NUL cannot be stored in a JSON column (PostgreSQL): it becomes U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _metric(metric: Any, collected: Collected) -> str | None:
    if not isinstance(metric, dict) or "name" not in metric or "value" not in metric:
        return "Invalid metric: expected {name, type, value, tags}"
    kind = str(metric.get("type", "counter")).lower()
    value = metric["value"]
    try:
        number = parse_duration(value) if kind == "timer" and isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return f"Invalid metric value for {metric['name']!r}: {value!r}"
    if kind not in ("counter", "timer", "gauge"):
        return f"Invalid metric type {kind!r} for {metric['name']!r}: counter, timer or gauge"
    tags = metric.get("tags") or {}
    collected.metrics.append((kind, str(metric["name"]), number,
                              {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}))
    return None
