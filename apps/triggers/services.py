"""Trigger use cases behind the API and the pages (KESTRA.md §4.7, §7.6): list, enable/disable,
backfills, unlock. READ to look, WRITE to change (`require`: 404 without READ, 403 with it).
Each change takes the trigger's row lock, so it never races the scheduler's claim.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.audit.services import record
from apps.core.errors import BadRequest, Conflict, NotFound, Unprocessable
from apps.namespaces.permissions import Action, require, visible
from apps.triggers import describe, firing, polling, sync
from apps.triggers.models import TriggerState
from apps.triggers.schedule import SCHEDULE_TYPES, parse_date, slots_of

MAX_BACKFILL_SLOTS = 100_000


def states(user: Any, *, namespace: str | None = None, flow_id: str | None = None,
           q: str | None = None) -> QuerySet[TriggerState]:
    """Trigger rows `user` may read, filtered; the flows in scope are reconciled first."""
    sync.reconcile_scope(namespace, flow_id)
    qs = visible(TriggerState.objects.all(), user, Action.READ)
    if namespace:
        qs = qs.filter(Q(namespace=namespace) | Q(namespace__startswith=namespace + "."))
    if flow_id:
        qs = qs.filter(flow_id=flow_id)
    if q:
        qs = qs.filter(Q(trigger_id__icontains=q) | Q(flow_id__icontains=q) | Q(namespace__icontains=q))
    return qs.order_by("namespace", "flow_id", "trigger_id")


def _locked(user: Any, namespace: str, flow_id: str, trigger_id: str, action: Action) -> TriggerState:
    what = f"Trigger '{trigger_id}' of flow '{namespace}.{flow_id}'"
    require(user, action, namespace, what)
    sync.reconcile_scope(namespace, flow_id)
    row = TriggerState.objects.select_for_update().filter(
        namespace=namespace, flow_id=flow_id, trigger_id=trigger_id).first()
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def _save(row: TriggerState, fields: list[str]) -> None:
    row.save(update_fields=[*fields, "updated"])


def set_disabled(user: Any, namespace: str, flow_id: str, trigger_id: str, disabled: bool) -> TriggerState:
    """Turn a trigger off or on. Turned on again, a schedule applies its `recoverMissedSchedules`
    to the slots it missed (its next slot was kept while it was off)."""
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        if row.disabled != disabled:
            row.disabled = disabled
            if not disabled and row.evaluate_at is None:
                row.evaluate_at = row.next_date
            _save(row, ["disabled", "evaluate_at"])
            record(user, "trigger.disable" if disabled else "trigger.enable", namespace=namespace,
                   target_type="trigger", target_id=f"{flow_id}.{trigger_id}")
    return row


def toggle_from_flow(namespace: str, flow_id: str, trigger_id: str, disabled: bool) -> bool:
    """The `trigger.Toggle` task: the same change as `set_disabled`, made by a running flow (its
    reach was checked by apps/executions/runtime/hostops.py). False when there is no such trigger."""
    with transaction.atomic():
        sync.reconcile_scope(namespace, flow_id)
        row = TriggerState.objects.select_for_update().filter(
            namespace=namespace, flow_id=flow_id, trigger_id=trigger_id).first()
        if row is None:
            return False
        if row.disabled != disabled:
            row.disabled = disabled
            if not disabled and row.evaluate_at is None:
                row.evaluate_at = row.next_date
            _save(row, ["disabled", "evaluate_at"])
    return True


Key = tuple[str, str, str]
"""(namespace, flowId, triggerId)."""


def set_disabled_many(user: Any, keys: Iterable[Key], disabled: bool) -> int:
    """All or nothing: one trigger the caller may not change (or that does not exist) leaves
    every other one as it was."""
    count = 0
    with transaction.atomic():
        for key in keys:
            set_disabled(user, *key, disabled)
            count += 1
    return count


def unlock(user: Any, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
    """Clear a polling trigger's evaluation lock: it is evaluated again at once."""
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        row.evaluate_running_date, row.worker_id = None, ""
        row.evaluate_at = timezone.now() if row.evaluate_at is not None or row.next_date is not None else None
        _save(row, ["evaluate_running_date", "worker_id", "evaluate_at"])
    return row


def restart(user: Any, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
    """Kestra's trigger restart: the lock and the last error are cleared and the trigger is
    evaluated again at its next slot (a polling trigger at once)."""
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        row.evaluate_running_date, row.worker_id, row.last_error = None, "", ""
        row.evaluate_at = timezone.now() if polling.is_polling(row.type) else row.next_date
        _save(row, ["evaluate_running_date", "worker_id", "last_error", "evaluate_at"])
    return row


def reset(user: Any, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
    """Kestra's trigger deletion: the runtime state (last slot, last execution, lock, backfill,
    runtime switch, error) is dropped; the definition stays, so the trigger starts over from its
    first slot after now, as when its flow was first saved."""
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        row.date, row.execution_id, row.evaluate_running_date, row.worker_id = None, "", None, ""
        row.backfill, row.disabled, row.last_error = None, False, ""
        row.next_date = row.evaluate_at = sync.first_date(row.definition, timezone.now())
        _save(row, ["date", "execution_id", "evaluate_running_date", "worker_id", "backfill", "disabled",
                    "last_error", "next_date", "evaluate_at"])
        record(user, "trigger.reset", namespace=namespace, target_type="trigger", target_id=f"{flow_id}.{trigger_id}")
    return row


# ---------------------------------------------------------------------------------------------
# Backfills


def _date(value: Any, name: str, default: datetime | None = None) -> datetime:
    if value in (None, "") and default is not None:
        return default
    try:
        return parse_date(value, None)
    except (TypeError, ValueError):
        raise Unprocessable(f"backfill `{name}` must be an ISO-8601 date-time, got {value!r}") from None


def start_backfill(user: Any, namespace: str, flow_id: str, trigger_id: str, body: Mapping[str, Any]) -> TriggerState:
    """Run the schedule's slots from `start` to `end` (default now) again, with their own inputs
    and labels; the executions carry the label `system.backfill: true`."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        if row.type not in SCHEDULE_TYPES:
            raise Unprocessable(f"only Schedule and ScheduleOnDates triggers can be backfilled, not {row.type}")
        if row.backfill and not row.backfill.get("done"):
            raise Conflict(f"trigger '{trigger_id}' already has a backfill running: pause or delete it first")
        start = _date(body.get("start"), "start")
        end = _date(body.get("end"), "end", now)
        if end <= start:
            raise Unprocessable("backfill `end` must be after `start`")
        inputs, labels = body.get("inputs") or {}, body.get("labels") or []
        if not isinstance(inputs, Mapping):
            raise Unprocessable("backfill `inputs` must be an object")
        slots = slots_of(row.definition["trigger"], row.definition.get("dates"))
        total = len(slots.between(start, end, MAX_BACKFILL_SLOTS + 1))
        if total > MAX_BACKFILL_SLOTS:
            raise Unprocessable(f"a backfill covers at most {MAX_BACKFILL_SLOTS} slots; shorten the period")
        if total == 0:
            raise Unprocessable("the schedule has no slot between `start` and `end`")
        try:  # the inputs and labels must make an execution: check with the first slot
            first = slots.between(start, end, 1)[0]
            firing.build(firing.Firing(state=row, variables=slots.variables(first), slot=first, inputs=inputs,
                                       labels=firing.labels_list(labels)), now)
        except firing.FiringError as error:
            raise Unprocessable(str(error)) from error
        row.backfill = {"id": uuid.uuid4().hex, "start": start.isoformat(), "end": end.isoformat(),
                        "currentDate": start.isoformat(), "paused": False, "inputs": dict(inputs),
                        "labels": firing.labels_list(labels), "total": total, "created": 0, "done": False,
                        "createdDate": now.isoformat()}
        _save(row, ["backfill"])
        record(user, "trigger.backfill", namespace=namespace, target_type="trigger",
               target_id=f"{flow_id}.{trigger_id}", after={"start": row.backfill["start"], "end": row.backfill["end"]})
    return row


def pause_backfill(user: Any, namespace: str, flow_id: str, trigger_id: str, paused: bool) -> TriggerState:
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        if not row.backfill or row.backfill.get("done"):
            raise Conflict(f"trigger '{trigger_id}' has no backfill running")
        row.backfill = {**row.backfill, "paused": paused}
        _save(row, ["backfill"])
    return row


def delete_backfill(user: Any, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
    """Stop a backfill; the executions it created stay."""
    with transaction.atomic():
        row = _locked(user, namespace, flow_id, trigger_id, Action.WRITE)
        if not row.backfill:
            raise Conflict(f"trigger '{trigger_id}' has no backfill")
        row.backfill = None
        _save(row, ["backfill"])
    return row


def _pause(user: Any, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
    return pause_backfill(user, namespace, flow_id, trigger_id, True)


def _unpause(user: Any, namespace: str, flow_id: str, trigger_id: str) -> TriggerState:
    return pause_backfill(user, namespace, flow_id, trigger_id, False)


BULK: dict[str, Callable[[Any, str, str, str], TriggerState]] = {
    "unlock": unlock, "reset": reset, "pause-backfill": _pause, "unpause-backfill": _unpause,
    "delete-backfill": delete_backfill,
}
"""The bulk operations (by triggers, by query) and the one-trigger use case each repeats."""
BACKFILL_OPS = frozenset({"pause-backfill", "unpause-backfill", "delete-backfill"})


def apply_many(user: Any, operation: str, keys: Iterable[Key]) -> int:
    """`operation` on every trigger of `keys`, all or nothing; how many were changed. The
    backfill operations skip the triggers that have no backfill to act on (Kestra's bulk
    forms count only what they changed)."""
    change = BULK[operation]
    count = 0
    with transaction.atomic():
        for key in keys:
            if operation in BACKFILL_OPS:
                row = TriggerState.objects.filter(namespace=key[0], flow_id=key[1], trigger_id=key[2]).first()
                running = row is not None and row.backfill and not row.backfill.get("done")
                if row is not None and not (row.backfill if operation == "delete-backfill" else running):
                    require(user, Action.WRITE, key[0], f"Trigger '{key[2]}' of flow '{key[0]}.{key[1]}'")
                    continue
            change(user, *key)
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Shapes


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def state_json(row: TriggerState) -> dict[str, Any]:
    """The trigger's runtime state (Kestra's `Trigger` entity, §4.7) with Weir's extras."""
    trigger = row.definition.get("trigger") or {}
    backfill = dict(row.backfill) if row.backfill else None
    if backfill:
        backfill["progress"] = round(100 * int(backfill.get("created") or 0) / max(1, int(backfill.get("total") or 1)))
    return {
        "namespace": row.namespace, "flowId": row.flow_id, "triggerId": row.trigger_id, "type": row.type,
        "date": _iso(row.date), "nextExecutionDate": _iso(row.next_date) if row.active and not row.disabled else None,
        "executionId": row.execution_id or None, "evaluateRunningDate": _iso(row.evaluate_running_date),
        "workerId": row.worker_id or None, "disabled": row.disabled or not row.active,
        "declaredDisabled": not row.active, "backfill": backfill, "stopAfter": trigger.get("stopAfter"),
        "updatedDate": _iso(row.updated), "lastError": row.last_error or None, "flowRevision": row.revision,
        "description": describe.words(trigger),
    }


def item_json(row: TriggerState) -> dict[str, Any]:
    """A search result as Kestra shapes it: the definition and its runtime context."""
    return {"abstractTrigger": row.definition.get("trigger") or {}, "triggerContext": state_json(row)}


def preview(body: Mapping[str, Any]) -> dict[str, Any]:
    """A schedule definition read aloud with its next slots (the editor's form); 422 if invalid."""
    from plugins.core.triggers import check_cron

    kind = str(body.get("type") or "io.kestra.plugin.core.trigger.Schedule")
    trigger = {**body, "type": kind}
    if kind not in SCHEDULE_TYPES:
        raise BadRequest(f"only Schedule and ScheduleOnDates can be previewed, not {kind}")
    try:
        if kind == "io.kestra.plugin.core.trigger.Schedule":
            check_cron(str(body.get("cron") or ""), bool(body.get("withSeconds")))
        slots = describe.next_slots(trigger, timezone.now() - timedelta(microseconds=1))
    except Exception as error:
        raise Unprocessable(str(error)) from error
    return {"description": describe.words(trigger), "next": slots}
