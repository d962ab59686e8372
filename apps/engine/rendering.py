"""Rendering helpers the planner and its behaviours share: whole property trees, labels, and
typed flow outputs. Planner-free, so behaviours can use them without importing the planner.
"""

from __future__ import annotations

import json
from typing import Any

from apps.engine.context import loop_value
from apps.engine.expressions import render, render_typed


def render_deep(value: Any, context: dict[str, Any], services: Any) -> Any:
    if isinstance(value, str):
        return render_typed(value, context, services=services) if value.strip().startswith("{{") \
            and value.strip().endswith("}}") else render(value, context, services=services)
    if isinstance(value, dict):
        return {render(str(k), context, services=services): render_deep(v, context, services)
                for k, v in value.items()}
    if isinstance(value, list):
        return [render_deep(v, context, services) for v in value]
    return value


def labels_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [{"key": str(k), "value": v if isinstance(v, str) else loop_value(v)} for k, v in value.items()]
    if isinstance(value, list):
        return [{"key": str(item.get("key")), "value": item.get("value")} for item in value if isinstance(item, dict)]
    return []


def typed_output(kind: str, value: Any) -> Any:
    """Type a flow output the way Kestra's FlowInputOutput does for its common types."""
    kind = kind.upper()
    if value is None:
        return None
    if kind in ("INT",):
        return int(value)
    if kind == "FLOAT":
        return float(value)
    if kind in ("BOOLEAN", "BOOL"):
        if isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise ValueError(f"'{value}' is not a boolean")
            return value.lower() == "true"
        return bool(value)
    if kind in ("JSON", "ARRAY", "MULTISELECT") and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if kind in ("STRING", "ENUM", "SELECT", "URI", "EMAIL", "DATETIME", "DATE", "TIME", "DURATION", "SECRET",
                "FILE") and not isinstance(value, str):
        return loop_value(value)
    return value
