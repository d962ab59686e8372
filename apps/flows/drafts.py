"""Invalid drafts (docs/adr/0026): YAML that does not validate yet, kept instead of lost.

A draft belongs to a flow identity (namespace + id), not to a revision: saving one never touches
the flow's revisions, its triggers or what a schedule runs. While a draft is pending, running the
flow's latest version is refused (409), because the latest thing its editors wrote is the draft;
an explicit `revision` still runs that saved revision. Saving a valid revision removes the draft.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from apps.audit.services import record
from apps.core.errors import BadRequest, Conflict, NotFound
from apps.flows import services
from apps.flows.models import FlowDraft
from apps.namespaces.permissions import Action, can, require, visible

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,149}$")
_FLOW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# Top-level `id:` / `namespace:` lines, for a draft whose YAML does not even parse.
_TOP_LEVEL = re.compile(r"^(id|namespace)[ \t]*:[ \t]*['\"]?([^'\"#\s]+)['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)


def identity_of(source: str) -> tuple[str, str] | None:
    """The (namespace, id) a draft's source names, read leniently: parsed when the YAML parses,
    else from its top-level lines. None when it names neither validly."""
    found: dict[str, str] = {}
    try:
        data = services.parsed(source)
        found = {k: data[k] for k in ("id", "namespace") if isinstance(data.get(k), str)}
    except Exception:  # unparsable YAML is exactly what a draft may hold
        found = {}
    for key, value in _TOP_LEVEL.findall(source):
        found.setdefault(key, value)
    ns, flow_id = found.get("namespace", ""), found.get("id", "")
    if _NAMESPACE.match(ns) and _FLOW_ID.match(flow_id):
        return ns, flow_id
    return None


def _check_identity(namespace: str, flow_id: str) -> None:
    if not _NAMESPACE.match(namespace):
        raise BadRequest(f"invalid namespace {namespace!r}: letters, digits, '.', '_' and '-', up to 150")
    if not _FLOW_ID.match(flow_id):
        raise BadRequest(f"invalid flow id {flow_id!r}: letters, digits, '.', '_' and '-', up to 100")


def save_draft(user: Any, source: str, namespace: str | None = None, flow_id: str | None = None) -> FlowDraft:
    """Keep `source` as the draft of a flow (the URL's identity, else the one the source names).

    Only a source that does not validate is a draft: a valid one is refused (400) so that it is
    saved as a revision instead, and nothing executable hides in a draft.
    """
    if not source.strip():
        raise BadRequest("the draft is empty: send the flow's YAML source")
    if namespace is None or flow_id is None:
        ident = identity_of(source)
        if ident is None:
            raise BadRequest("a draft needs the flow's `id` and `namespace` as top-level lines of its source")
        namespace, flow_id = ident
    _check_identity(namespace, flow_id)
    require(user, Action.WRITE, namespace)
    result = services.validate(source)
    if result.ok:
        raise BadRequest(f"this source is valid: save it as a revision of {namespace}.{flow_id} "
                         "(POST /api/v1/flows or PUT /api/v1/flows/{namespace}/{id}) instead of a draft")
    errors = [p.as_dict() for p in result.problems]
    with transaction.atomic():
        draft, _ = FlowDraft.objects.select_for_update().get_or_create(
            namespace=namespace, flow_id=flow_id, defaults={"source": source, "errors": errors})
        draft.source, draft.errors = source, errors
        draft.created_by = user if getattr(user, "is_authenticated", False) else None
        draft.save()
        record(user, "flow.draft", namespace=namespace, target_type="flow", target_id=f"{namespace}.{flow_id}",
               after={"problems": len(errors)})
    return draft


def get_draft(user: Any, namespace: str, flow_id: str) -> FlowDraft:
    draft = visible(FlowDraft.objects.all(), user, Action.READ).filter(namespace=namespace, flow_id=flow_id).first()
    if draft is None:
        raise NotFound(f"flow {namespace}.{flow_id} has no draft")
    return draft


def discard_draft(user: Any, namespace: str, flow_id: str) -> None:
    get_draft(user, namespace, flow_id)
    require(user, Action.WRITE, namespace)
    with transaction.atomic():
        FlowDraft.objects.filter(namespace=namespace, flow_id=flow_id).delete()
        record(user, "flow.draft.discard", namespace=namespace, target_type="flow",
               target_id=f"{namespace}.{flow_id}")


def drafts(user: Any) -> QuerySet[FlowDraft]:
    """The drafts `user` may read."""
    return visible(FlowDraft.objects.all(), user, Action.READ)


def refuse_pending(user: Any, namespace: str, flow_id: str) -> None:
    """409 when the flow's latest version is an invalid draft (what "run the latest" would run is
    not executable); checked before the flow itself, so a flow that exists only as a draft gets
    the same clear answer instead of a 404."""
    if not can(user, Action.READ, namespace):
        return
    draft = FlowDraft.objects.filter(namespace=namespace, flow_id=flow_id).only("errors").first()
    if draft is None:
        return
    count = len(draft.errors or [])
    problems = f"{count} problem{'s' if count != 1 else ''}"
    raise Conflict(f"flow {namespace}.{flow_id}: its latest version is an invalid draft ({problems}), which "
                   "cannot run; fix and save it, or discard the draft (DELETE "
                   f"/api/v1/flows/{namespace}/{flow_id}/draft), or run a saved revision with ?revision=N")
