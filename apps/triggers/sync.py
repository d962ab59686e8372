"""Trigger states follow the flows (KESTRA.md §4.7).

`reconcile` reads the flows saved since its last pass (all of them on a process's first pass) and
makes their trigger rows match: a new trigger gets a row whose next slot is the first one after
now; a changed schedule (cron, zone, dates, type) starts again from now; any other change keeps
the next slot, so editing a flow's tasks misses nothing; a revision already known is not parsed
again; a renamed trigger is a new row and the
old row goes, as does every row of a removed trigger or a deleted flow. A flow saved while a
pass runs is caught by the next one (passes overlap by `WINDOW`). Rows are written with
conditional updates and `ignore_conflicts` inserts, so several schedulers may reconcile at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.engine.expressions import render
from apps.executions import nsconfig
from apps.flows import services as flow_services
from apps.flows import validation
from apps.flows.models import Flow
from apps.plugins.registry import registry
from apps.triggers import polling
from apps.triggers.models import TriggerState
from apps.triggers.schedule import SCHEDULE_TYPES, slots_of

log = logging.getLogger("weir.triggers")
WINDOW = timedelta(seconds=10)
SLOT_FIELDS = ("type", "cron", "withSeconds", "timezone", "dates", "interval")

_lock = threading.Lock()
_watermark: datetime | None = None


def forget() -> None:
    """Start over with a full pass (tests)."""
    global _watermark
    with _lock:
        _watermark = None


def triggers_of(flow: Flow) -> list[dict[str, Any]]:
    """The flow's triggers with plugin defaults applied (the flow's own and its namespace's)."""
    data = dict(flow_services.parsed(flow.source))
    inherited = json.loads(nsconfig.for_namespace(flow.namespace).defaults_key)
    if inherited:
        data["pluginDefaults"] = [*(data.get("pluginDefaults") or []), *inherited]
    data = validation.apply_plugin_defaults(data)
    found = []
    for trigger in data.get("triggers") or []:
        if isinstance(trigger, Mapping) and trigger.get("id"):
            kind = registry.canonical(str(trigger.get("type") or "")) or str(trigger.get("type") or "")
            found.append({**trigger, "type": kind, "_flow": {"labels": data.get("labels"),
                                                              "inputs": data.get("inputs") or []}})
    return found


def _dates(trigger: Mapping[str, Any], flow: Flow) -> list[Any] | None:
    """ScheduleOnDates `dates` given as an expression, rendered once per revision."""
    value = trigger.get("dates")
    if not isinstance(value, str):
        return None
    text = render(value, {"flow": {"id": flow.flow_id, "namespace": flow.namespace, "revision": flow.revision}})
    text = text.strip()
    items = json.loads(text) if text.startswith("[") else [p for p in text.replace(",", " ").split() if p]
    return [str(i) for i in items]


def _definition(trigger: dict[str, Any], flow: Flow) -> dict[str, Any]:
    extra = trigger.pop("_flow")
    definition: dict[str, Any] = {"trigger": trigger, "labels": extra["labels"], "inputs": extra["inputs"]}
    if trigger["type"] == "io.kestra.plugin.core.trigger.ScheduleOnDates":
        dates = _dates(trigger, flow)
        if dates is not None:
            definition["dates"] = dates
    return definition


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _slot_key(definition: Mapping[str, Any]) -> str:
    trigger = definition["trigger"]
    return _digest([trigger.get(k) for k in SLOT_FIELDS] + [definition.get("dates")])


def first_date(definition: Mapping[str, Any], now: datetime) -> datetime | None:
    """Where a new (or rescheduled) trigger starts: its first slot after now; a polling trigger
    is evaluated at once; other triggers are not scheduled."""
    kind = definition["trigger"]["type"]
    if kind in SCHEDULE_TYPES:
        return slots_of(definition["trigger"], definition.get("dates")).next_after(now)
    if polling.is_polling(kind):
        return now
    return None


def reconcile(now: datetime | None = None) -> int:
    """One pass of a scheduler: every flow on the process's first pass (and rows of vanished
    flows deleted), then the flows saved since; returns how many rows changed."""
    now = now or timezone.now()
    with _lock:
        since = _watermark
    flows = Flow.objects.all() if since is None else Flow.objects.filter(updated_at__gte=since - WINDOW)
    changed, newest = _pass(flows, now)
    if since is None:
        live = set(Flow.objects.values_list("namespace", "flow_id"))
        orphans = [pk for pk, ns, fid in TriggerState.objects.values_list("id", "namespace", "flow_id")
                   if (ns, fid) not in live]
        changed += TriggerState.objects.filter(id__in=orphans).delete()[0]
    transaction.on_commit(lambda: _advance(newest or now))  # a rolled-back pass is done again
    return changed


def reconcile_scope(namespace: str | None = None, flow_id: str | None = None) -> int:
    """Before an API read: the flows it is about (a namespace with its children, one flow), or,
    unscoped, those saved in the last `WINDOW` (a scheduler does the full passes). Rows whose
    revision is known are skipped, so this is cheap when nothing changed."""
    now = timezone.now()
    if namespace:
        flows = Flow.objects.filter(Q(namespace=namespace) | Q(namespace__startswith=namespace + "."))
        if flow_id:
            flows = flows.filter(flow_id=flow_id)
    else:
        with _lock:
            since = _watermark or now
        flows = Flow.objects.filter(updated_at__gte=since - WINDOW)
    return _pass(flows, now)[0]


def _pass(flows: QuerySet[Flow], now: datetime) -> tuple[int, datetime | None]:
    changed = 0
    newest: datetime | None = None
    batch: list[Flow] = []
    for flow in flows.order_by("updated_at").iterator(chunk_size=2000):
        batch.append(flow)
        newest = flow.updated_at if newest is None or flow.updated_at > newest else newest
        if len(batch) >= 2000:
            changed += _apply(batch, now)
            batch = []
    changed += _apply(batch, now)
    return changed, newest


def _advance(mark: datetime) -> None:
    global _watermark
    with _lock:
        if _watermark is None or mark > _watermark:
            _watermark = mark


def _apply(flows: Iterable[Flow], now: datetime) -> int:
    flows = list(flows)
    if not flows:
        return 0
    keys = {(f.namespace, f.flow_id) for f in flows}
    existing: dict[tuple[str, str, str], TriggerState] = {}
    for state in TriggerState.objects.filter(namespace__in={k[0] for k in keys}, flow_id__in={k[1] for k in keys}):
        if (state.namespace, state.flow_id) in keys:
            existing[(state.namespace, state.flow_id, state.trigger_id)] = state
    wanted: set[tuple[str, str, str]] = set()
    new: list[TriggerState] = []
    changed = 0
    by_flow: dict[tuple[str, str], list[TriggerState]] = {}
    for state in existing.values():
        by_flow.setdefault((state.namespace, state.flow_id), []).append(state)
    for flow in flows:
        if flow.deleted:
            continue
        mine = by_flow.get((flow.namespace, flow.flow_id), [])
        if mine and all(s.revision == flow.revision for s in mine):
            wanted.update((s.namespace, s.flow_id, s.trigger_id) for s in mine)  # this revision is known
            continue
        try:
            triggers = triggers_of(flow)
        except Exception as error:  # a flow that no longer parses keeps its rows as they are
            log.warning("triggers of %s.%s not read: %s", flow.namespace, flow.flow_id, error)
            wanted.update(k for k in existing if k[:2] == (flow.namespace, flow.flow_id))
            continue
        for trigger in triggers:
            key = (flow.namespace, flow.flow_id, str(trigger["id"]))
            wanted.add(key)
            try:
                definition = _definition(trigger, flow)
                active = not flow.disabled and not trigger.get("disabled")
                fingerprint = _digest([definition, active])
                current = existing.get(key)
                if current is None:
                    first = first_date(definition, now)
                    new.append(TriggerState(
                        namespace=key[0], flow_id=key[1], trigger_id=key[2], type=trigger["type"],
                        revision=flow.revision, definition=definition, fingerprint=fingerprint, active=active,
                        next_date=first, evaluate_at=first))
                elif current.fingerprint != fingerprint:
                    changed += _update(current, definition, fingerprint, active, flow.revision, now)
            except Exception as error:
                log.warning("trigger %s of %s.%s not scheduled: %s", key[2], key[0], key[1], error)
    if new:
        TriggerState.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        changed += len(new)
    gone = [s.id for k, s in existing.items() if k not in wanted]
    if gone:
        changed += TriggerState.objects.filter(id__in=gone).delete()[0]
    return changed


def _update(state: TriggerState, definition: dict[str, Any], fingerprint: str, active: bool, revision: int,
            now: datetime) -> int:
    values: dict[str, Any] = {"definition": definition, "fingerprint": fingerprint, "active": active,
                              "revision": revision, "type": definition["trigger"]["type"], "updated": now}
    if _slot_key(definition) != _slot_key(state.definition):
        first = first_date(definition, now)
        values.update(next_date=first, evaluate_at=first)
    with transaction.atomic():
        return TriggerState.objects.filter(id=state.id, fingerprint=state.fingerprint).update(**values)
