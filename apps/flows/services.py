"""Flow use cases: check permission, validate, then write (DESIGN.md §2 service shape).

Every write happens in one transaction under a row lock on the flow, so a stale update gets
409 and nothing is half-written.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from apps.audit.services import record
from apps.core.errors import Conflict, DeployInvalid, NotFound, Problem, SourceInvalid
from apps.flows import graph, validation, yamlsource
from apps.flows.models import Flow, FlowDraft, FlowRevision, source_digest
from apps.flows.validation import Result, labels_as_dict
from apps.flows.yamlsource import check_size
from apps.namespaces.permissions import Action, require, visible
from apps.namespaces.services import ensure_namespace


def options() -> validation.Options:
    """Validation options from settings (declared worker groups, size and task-count limits)."""
    return validation.Options(
        worker_groups=frozenset(settings.WEIR_WORKER_GROUPS), max_bytes=settings.WEIR_MAX_SOURCE_BYTES,
        max_tasks=settings.WEIR_MAX_TASKS,
    )


def validate(source: str) -> Result:
    """Validate one flow source (raises SourceTooLarge before parsing when over the limit)."""
    check_size(source, settings.WEIR_MAX_SOURCE_BYTES)
    return validation.validate_source(source, options())


def validate_many(source: str) -> list[Result]:
    check_size(source, settings.WEIR_MAX_SOURCE_BYTES)
    return validation.validate_stream(source, options())


@lru_cache(maxsize=2048)
def _parse_cached(source: str) -> Any:
    # Stored sources were validated when saved: parsing is all a read needs.
    return yamlsource.load(source, limit=sys.maxsize).data


def parsed(flow_or_source: Flow | FlowRevision | str) -> dict[str, Any]:
    """The parsed YAML of a stored source (cached: sources are immutable per revision)."""
    source = flow_or_source if isinstance(flow_or_source, str) else flow_or_source.source
    data = _parse_cached(source)
    return data if isinstance(data, dict) else {}


FLOWS_CHANGED = "SELECT count(*), max(updated_at) FROM weir_flow"
"""A key that changes whenever a flow is created, saved or deleted (a delete is a save with
`deleted`; a row removed outright changes the count): what a process derives from every flow
(the Flow triggers' listeners, apps/triggers/flowtriggers.py) is cached under it."""


def document_of(source: str) -> str:
    """A revision's stored `document`: its parsed source as JSON text. JSON keeps the mapping
    order and every value the strict loader yields (str, int of any size, float with NaN and
    infinities, bool, null, lists, maps with string keys); stored as text, not jsonb, which
    would reorder keys and refuse NaN."""
    return json.dumps(parsed(source), separators=(",", ":"))


def revision_data(revision: FlowRevision) -> dict[str, Any]:
    """A stored revision's parsed source: decoded from its `document`, or parsed from its
    `source` when it has none (saved before documents were kept; a revision read without its
    source, `only("document")`, loads it then). A new dict each call."""
    if revision.document:
        data = json.loads(revision.document)
        return data if isinstance(data, dict) else {}
    return dict(parsed(revision.source))


def graph_of(source: str) -> dict[str, Any]:
    """Topology of a stored source, with plugin defaults merged as validation sees them."""
    return graph.build_graph(validation.apply_plugin_defaults(parsed(source)))


def _checked(source: str) -> Result:
    result = validate(source)
    result.raise_for_problems()
    return result


def _count_tasks(flow: dict[str, Any]) -> int:
    count = 0
    stack: list[Any] = [flow.get("tasks"), flow.get("errors"), flow.get("finally")]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if "type" in node and "id" in node:
                count += 1
            stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return count


@dataclass(frozen=True)
class SaveOutcome:
    flow: Flow
    created: bool
    changed: bool


def _apply(flow: Flow, source: str, result: Result, user: Any, *, deleted: bool = False) -> None:
    data = result.flow or {}
    record(user, "flow.update" if flow.revision and not flow.deleted else "flow.create", namespace=flow.namespace,
           target_type="flow", target_id=f"{flow.namespace}.{flow.flow_id}", after={"revision": flow.revision + 1})
    ensure_namespace(flow.namespace)
    flow.revision += 1
    flow.source = source
    flow.description = str(data.get("description") or "")
    flow.labels = labels_as_dict(data.get("labels"))
    flow.disabled = bool(data.get("disabled", False))
    flow.deleted = deleted
    flow.task_count = _count_tasks(data)
    flow.save()
    FlowRevision.objects.create(
        flow=flow, revision=flow.revision, source=source, digest=source_digest(source), document=document_of(source),
        deleted=deleted, created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    # A valid revision supersedes the draft it fixes (docs/adr/0026).
    FlowDraft.objects.filter(namespace=flow.namespace, flow_id=flow.flow_id).delete()


def _deny(user: Any, action: Action, namespace: str) -> None:
    # 404 when the namespace is unreadable, 403 when readable but the role is too low.
    require(user, action, namespace)


def _identity(result: Result) -> tuple[str, str]:
    data = result.flow or {}
    return str(data["namespace"]), str(data["id"])


def create_flow(user: Any, source: str) -> Flow:
    """Create a flow (revision 1, or the next one if a deleted flow had this id)."""
    result = _checked(source)
    namespace, flow_id = _identity(result)
    _deny(user, Action.WRITE, namespace)
    try:
        with transaction.atomic():
            flow = Flow.objects.select_for_update().filter(namespace=namespace, flow_id=flow_id).first()
            if flow is not None and not flow.deleted:
                raise Conflict(f"flow {namespace}.{flow_id} already exists: update it with "
                               f"PUT /api/v1/flows/{namespace}/{flow_id}")
            if flow is None:
                flow = Flow(namespace=namespace, flow_id=flow_id, revision=0)
            _apply(flow, source, result, user)
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict(f"flow {namespace}.{flow_id} already exists") from exc
    return flow


def update_flow(user: Any, namespace: str, flow_id: str, source: str,
                base_revision: int | None = None) -> SaveOutcome:
    """Save a new revision if the source changed. `base_revision` enables optimistic locking."""
    result = _checked(source)
    src_ns, src_id = _identity(result)
    if (src_ns, src_id) != (namespace, flow_id):
        what = "namespace" if src_ns != namespace else "id"
        pos = result.document.marks.value((what,)) if result.document else None
        raise SourceInvalid([Problem(path=what, message=f"Illegal flow {what} update: the source says "
                                     f"{src_ns}.{src_id} but the URL is {namespace}.{flow_id}",
                                     line=pos[0] if pos else None, column=pos[1] if pos else None)])
    _deny(user, Action.WRITE, namespace)
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(namespace=namespace, flow_id=flow_id, deleted=False).first()
        if flow is None:
            raise NotFound(f"flow {namespace}.{flow_id} not found")
        if base_revision is not None and base_revision != flow.revision:
            raise Conflict(f"flow {namespace}.{flow_id} was changed since revision {base_revision}: "
                           f"the latest is revision {flow.revision}; reload it and apply your change again")
        if source == flow.source:
            # Saving the latest revision's own text over a draft is choosing it: the draft goes.
            FlowDraft.objects.filter(namespace=namespace, flow_id=flow_id).delete()
            return SaveOutcome(flow=flow, created=False, changed=False)
        _apply(flow, source, result, user)
    return SaveOutcome(flow=flow, created=False, changed=True)


def save_flow(user: Any, source: str, result: Result | None = None) -> SaveOutcome:
    """Create or update by the identity in the source (deploy, import)."""
    result = result or _checked(source)
    namespace, flow_id = _identity(result)
    _deny(user, Action.WRITE, namespace)
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(namespace=namespace, flow_id=flow_id).first()
        created = flow is None or flow.deleted
        if flow is None:
            flow = Flow(namespace=namespace, flow_id=flow_id, revision=0)
        elif not flow.deleted and source == flow.source:
            return SaveOutcome(flow=flow, created=False, changed=False)
        _apply(flow, source, result, user)
    return SaveOutcome(flow=flow, created=created, changed=True)


def delete_flow(user: Any, namespace: str, flow_id: str) -> Flow:
    """Soft delete: a new revision with `deleted=True`, same source."""
    _deny(user, Action.WRITE, namespace)
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(namespace=namespace, flow_id=flow_id, deleted=False).first()
        if flow is None:
            raise NotFound(f"flow {namespace}.{flow_id} not found")
        flow.revision += 1
        flow.deleted = True
        flow.save(update_fields=["revision", "deleted", "updated_at"])
        FlowDraft.objects.filter(namespace=namespace, flow_id=flow_id).delete()
        FlowRevision.objects.create(flow=flow, revision=flow.revision, source=flow.source,
                                    digest=source_digest(flow.source), document=document_of(flow.source), deleted=True,
                                    created_by=user if getattr(user, "is_authenticated", False) else None)
        record(user, "flow.delete", namespace=namespace, target_type="flow", target_id=f"{namespace}.{flow_id}",
               before={"revision": flow.revision - 1}, after={"revision": flow.revision})
    return flow


def get_flow(user: Any, namespace: str, flow_id: str, *, allow_deleted: bool = False) -> Flow:
    qs = visible(Flow.objects.all(), user, Action.READ).filter(namespace=namespace, flow_id=flow_id)
    flow = qs.first()
    if flow is None or (flow.deleted and not allow_deleted):
        raise NotFound(f"flow {namespace}.{flow_id} not found")
    return flow


def get_revision(user: Any, namespace: str, flow_id: str, revision: int) -> FlowRevision:
    flow = get_flow(user, namespace, flow_id, allow_deleted=True)
    rev = flow.revisions.filter(revision=revision).first()
    if rev is None:
        raise NotFound(f"flow {namespace}.{flow_id} has no revision {revision}")
    return rev


def revisions(user: Any, namespace: str, flow_id: str) -> QuerySet[FlowRevision]:
    flow = get_flow(user, namespace, flow_id, allow_deleted=True)
    return flow.revisions.order_by("revision")


def namespace_filter(namespace: str) -> Q:
    """Exact namespace or a child of it (dotted segments: `prod` covers `prod.x`, not `prodx`)."""
    return Q(namespace=namespace) | Q(namespace__startswith=namespace + ".")


def deploy(user: Any, source: str, *, namespace: str | None = None, delete: bool = True) -> dict[str, Any]:
    """Create/update every flow of a multi-document source; optionally delete the others.

    All-or-nothing: every document is validated before anything is written, and the writes
    share one transaction.
    """
    results = validate_many(source)
    problems: list[dict[str, Any]] = []
    for i, res in enumerate(results):
        if res.problems:
            problems.append({"index": i, "errors": [p.as_dict() for p in res.problems]})
        elif namespace is not None and (res.flow or {}).get("namespace") != namespace:
            problems.append({"index": i, "errors": [{"path": "namespace", "line": None, "column": None,
                                                     "message": f"flow namespace {(res.flow or {}).get('namespace')!r} "
                                                                f"is not {namespace!r}"}]})
    if problems:
        raise DeployInvalid(problems, unreadable=any(r.unreadable for r in results))
    texts = [r.document.source for r in results if r.document]
    idents = [_identity(r) for r in results]
    if len(set(idents)) != len(idents):
        dup = next(i for i in idents if idents.count(i) > 1)
        raise Conflict(f"flow {dup[0]}.{dup[1]} appears twice in the request")
    outcome: dict[str, Any] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
    with transaction.atomic():
        for text, res in zip(texts, results, strict=True):
            saved = save_flow(user, text, res)
            key = "created" if saved.created else "updated" if saved.changed else "unchanged"
            outcome[key].append({"namespace": saved.flow.namespace, "id": saved.flow.flow_id,
                                 "revision": saved.flow.revision})
        if delete and namespace is not None:
            keep = {fid for ns, fid in idents if ns == namespace}
            others = Flow.objects.filter(namespace=namespace, deleted=False).exclude(flow_id__in=keep)
            for flow in others:
                delete_flow(user, flow.namespace, flow.flow_id)
                outcome["deleted"].append({"namespace": flow.namespace, "id": flow.flow_id})
    return outcome


def holds_flows(namespace: str) -> bool:
    """Whether any flow, even a deleted one, is in exactly `namespace`: its executions keep
    naming it, and `permissions.visible()` relies on every flow's namespace having a row."""
    return Flow.objects.filter(namespace=namespace).exists()
