"""JSON shapes of flows, with Kestra's field names (FlowWithSource, revisions, validation)."""

from __future__ import annotations

from typing import Any

from apps.flows import services
from apps.flows.models import Flow, FlowRevision
from apps.flows.validation import Result, labels_as_dict


def _labels_list(labels: Any) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in labels_as_dict(labels).items()]


def flow_json(flow: Flow, *, revision: FlowRevision | None = None, source: bool = True) -> dict[str, Any]:
    """A FlowWithSource: the parsed flow plus revision, deleted, disabled and (optionally) source."""
    text = revision.source if revision else flow.source
    data = dict(services.parsed(text))
    data.pop("revision", None)
    body: dict[str, Any] = {
        "id": flow.flow_id,
        "namespace": flow.namespace,
        "revision": revision.revision if revision else flow.revision,
        **{k: v for k, v in data.items() if k not in {"id", "namespace"}},
        "labels": _labels_list(data.get("labels")),
        "disabled": bool(data.get("disabled", False)),
        "deleted": revision.deleted if revision else flow.deleted,
        "updated": (revision.created_at if revision else flow.updated_at).isoformat(),
    }
    if source:
        body["source"] = text
    return body


def flow_summary(flow: Flow) -> dict[str, Any]:
    """A search result row: no source, no task tree."""
    return {
        "id": flow.flow_id,
        "namespace": flow.namespace,
        "revision": flow.revision,
        "description": flow.description or None,
        "labels": [{"key": k, "value": v} for k, v in (flow.labels or {}).items()],
        "disabled": flow.disabled,
        "deleted": flow.deleted,
        "taskCount": flow.task_count,
        "updated": flow.updated_at.isoformat(),
    }


def revision_json(rev: FlowRevision) -> dict[str, Any]:
    return {
        "revision": rev.revision,
        "deleted": rev.deleted,
        "source": rev.source,
        "createdBy": rev.created_by.get_username() if rev.created_by else None,
        "created": rev.created_at.isoformat(),
    }


def validation_json(index: int, result: Result, latest_revision: int | None = None) -> dict[str, Any]:
    """Kestra's ValidateConstraintViolation, plus `errors` with path/line/column for editors."""
    data = result.data if isinstance(result.data, dict) else {}
    sent = data.get("revision")
    return {
        "index": index,
        "flow": data.get("id"),
        "namespace": data.get("namespace"),
        "constraints": "\n".join(str(p) for p in result.problems) or None,
        "errors": [p.as_dict() for p in result.problems],
        "outdated": bool(latest_revision is not None and isinstance(sent, int) and sent != latest_revision + 1),
        "deprecationPaths": result.deprecation_paths,
        "warnings": [str(p) for p in result.warnings],
        "warningDetails": [p.as_dict() for p in result.warnings],
        "infos": [str(p) for p in result.infos],
    }
