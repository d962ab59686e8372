"""The trigger loop (KESTRA.md §4.2, §4.5, §4.7; DESIGN.md §4b; docs/adr/0016).

Each `tick` reconciles trigger rows with the flows, then claims due rows in batches:
`SELECT … FOR UPDATE SKIP LOCKED` on `evaluate_at <= now`, so any number of schedulers share the
work and never hold the same row. For each claimed row, in one transaction:

- the no-overlap rule: while the last execution it created is not terminal, the row is looked at
  again a little later (`recheck`; its slot stays due);
- `stopAfter`: if that execution ended in one of the listed states, the trigger is disabled;
- a schedule applies `schedule.decide` (recovery, lateMaximumDelay, conditions on trigger.date);
- a polling trigger is handed to a worker (apps/triggers/polling.py).

The batch's executions and their slot keys are inserted in bulk (apps/triggers/firing.py), the
rows updated, and the executions started after commit. A crash anywhere before commit leaves
nothing; the unique slot key makes a second execution of a slot impossible whatever happens.
Backfills walk their slots the same way, `BACKFILL_BATCH` slots per row and tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from apps.engine.states import TERMINATED
from apps.executions.models import Execution
from apps.triggers import bulk, firing, polling, sync
from apps.triggers.conditions import ConditionContext, Subject, all_valid
from apps.triggers.models import TriggerSlot, TriggerState
from apps.triggers.schedule import SCHEDULE_TYPES, Policy, Slots, decide, parse_date, slots_of

log = logging.getLogger("weir.triggers")
TERMINAL = frozenset(s.value for s in TERMINATED)
RECHECK_MIN = timedelta(seconds=0.2)
RECHECK_MAX = timedelta(seconds=10)
BATCH = 2500
PARALLEL = 4
LOOKAHEAD = timedelta(seconds=20)
LOOKAHEAD_MIN_ROWS = 500
BACKFILL_BATCH = 100
SLOT_KEY_DAYS = 7
_FIELDS = ("next_date", "evaluate_at", "date", "execution_id", "disabled", "last_error", "worker_id",
           "evaluate_running_date", "updated")
_last_prune: datetime | None = None


def _skip_locked() -> bool:
    return bool(connection.features.has_select_for_update_skip_locked)


def grace() -> timedelta:
    return timedelta(seconds=float(settings.WEIR_SCHEDULE_GRACE_SECONDS))


def slots_for(state: TriggerState) -> Slots:
    return slots_of(state.definition["trigger"], state.definition.get("dates"))


def recheck(row: TriggerState, now: datetime) -> timedelta:
    """How long a trigger waits for its running execution before looking again: a tenth of how
    long that execution has run, between `RECHECK_MIN` and `RECHECK_MAX` (a short execution of a
    per-second schedule is caught at once, thousands of long ones do not keep the loop busy)."""
    running = now - row.date if row.date else RECHECK_MIN
    return min(RECHECK_MAX, max(RECHECK_MIN, running / 10))


def conditions_hold(state: TriggerState, variables: Mapping[str, Any]) -> bool:
    conditions = state.definition["trigger"].get("conditions")
    if not conditions:
        return True
    ctx = ConditionContext(Subject(state.namespace, state.flow_id, "CREATED"),
                           {"trigger": dict(variables),
                            "flow": {"id": state.flow_id, "namespace": state.namespace, "revision": state.revision}})
    return all_valid(conditions, ctx, str(state))


def tick(now: datetime | None = None) -> int:
    """One pass; returns how many executions it created (plus polling evaluations sent).

    `now` injects the clock (tests); without it the pass runs on the wall clock and prepares the
    next slot's first batch up to `LOOKAHEAD` before it is due."""
    sync.reconcile(now)
    started: list[str] = []
    if now is None and connection.vendor == "postgresql":
        fired = sum(_executor().map(lambda _: _drain(None, started), range(PARALLEL)))
    else:  # SQLite has one writer at a time: one thread, and no waiting inside a write transaction
        fired = _drain(now, started)
    firing.start(started)
    fired += run_backfills(now or timezone.now())
    _prune(now or timezone.now())
    return fired


def _drain(now: datetime | None, started: list[str], ahead: bool = True) -> int:
    """Claim and fire batches until one is not full, or fires nothing (a batch of triggers all
    held by the no-overlap rule: they are looked at again in a later pass, not in a loop that
    would keep the pass, and the executions' own scheduled work, from ending)."""
    fired = 0
    try:
        while True:
            count, full = claim_and_fire(now or timezone.now(), started,
                                         LOOKAHEAD if now is None and ahead else None)
            fired += count
            if not full or not count:
                return fired
    finally:
        if threading.current_thread() is not threading.main_thread() and now is None:
            close_old_connections()


_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """Threads that claim batches side by side, each on its own connection and transaction
    (SKIP LOCKED shares the rows out): a slot's 10 000 executions are prepared in parallel
    before it and written in parallel at it."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="weir-triggers")
    return _pool


def claim_and_fire(now: datetime, started: list[str], lookahead: timedelta | None = None,
                   limit: int = BATCH) -> tuple[int, bool]:
    """Claim up to `limit` due rows and act on them in one transaction; returns (fired, full).
    The ids of the executions created are added to `started` once the transaction commits.

    With `lookahead`, when nothing is due yet but a slot of at least `LOOKAHEAD_MIN_ROWS` rows
    comes within it, the rows of that slot are claimed, decided, built and updated now, and only
    the executions' insert waits for the slot: what remains to do at the slot is one COPY and the
    commit. (The trigger pass waits with it: at most `LOOKAHEAD`, only for slots that big; the
    executions' own scheduled work runs in its own loop, apps/cli/standalone.py.)"""
    due = TriggerState.objects.select_for_update(skip_locked=_skip_locked()).filter(active=True, disabled=False)
    fire_at = now
    if lookahead is not None:
        first = (TriggerState.objects.filter(active=True, disabled=False, evaluate_at__lte=now + lookahead)
                 .order_by("evaluate_at").values_list("evaluate_at", flat=True).first())
        if first is None:
            return 0, False
        fire_at = max(first, now)
        if fire_at > now and connection.vendor != "postgresql":
            return _ahead_unlocked(fire_at, started, limit)
    with transaction.atomic():
        if fire_at > now:
            rows = list(due.filter(evaluate_at=fire_at)[:limit])
            if len(rows) < LOOKAHEAD_MIN_ROWS:  # a small slot: done at once when due, no need to wait
                return 0, False
        else:
            rows = list(due.filter(evaluate_at__lte=now).order_by("evaluate_at")[:limit])
        if not rows:
            return 0, False
        ready, evaluations, previous = _plan(rows, fire_at)
        written = firing.insert(ready, before=lambda: _update_and_wait(rows, fire_at))
        _keep_last(rows, ready, written, previous)
        ids = [s.execution.id for s in written if s.execution is not None]
        transaction.on_commit(lambda: started.extend(ids))
        polling.publish_after_commit(evaluations)
    return len(written) + len(evaluations), len(rows) >= limit


def _plan(rows: list[TriggerState], fire_at: datetime) -> tuple[list[firing.Firing], list[tuple[int, str]],
                                                                  dict[int, str]]:
    """Decide every claimed row at `fire_at`: the firings built (their rows updated in memory),
    the polling evaluations to send, and each row's last execution before this pass."""
    last = {r.execution_id for r in rows if r.execution_id}
    states = dict(Execution.objects.filter(id__in=last).values_list("id", "state")) if last else {}
    firings: list[firing.Firing] = []
    evaluations: list[tuple[int, str]] = []
    for row in rows:
        last_state = states.get(row.execution_id or "")
        if last_state is not None and last_state not in TERMINAL:
            row.evaluate_at = fire_at + recheck(row, fire_at)  # no overlap: look again, the slot stays due
            continue
        if last_state in (row.definition["trigger"].get("stopAfter") or []):
            log.info("trigger %s disabled: its execution %s ended %s (stopAfter)", row, row.execution_id, last_state)
            row.disabled, row.execution_id = True, ""
            continue
        if row.type in SCHEDULE_TYPES:
            shot = _schedule(row, fire_at)
            if shot is not None:
                firings.append(shot)
        elif polling.is_polling(row.type):
            evaluations.append((row.id, polling.claim(row, fire_at)))
        else:
            row.evaluate_at = row.next_date = None
    ready = firing.prepare(firings, fire_at)
    previous = {row.id: row.execution_id for row in rows}
    for shot in ready:
        assert shot.execution is not None
        shot.state.execution_id = shot.execution.id
    for row in rows:
        row.updated = fire_at
    return ready, evaluations, previous


def _keep_last(rows: list[TriggerState], ready: list[firing.Firing], written: list[firing.Firing],
               previous: dict[int, str]) -> None:
    """A row whose slot was already taken keeps pointing at its last execution."""
    if len(written) < len(ready):
        created = {s.state.id for s in written}
        for shot in ready:
            if shot.state.id not in created:
                shot.state.execution_id = previous[shot.state.id]
        bulk.update(TriggerState, rows, _FIELDS)


def _ahead_unlocked(fire_at: datetime, started: list[str], limit: int) -> tuple[int, bool]:
    """Ahead of a big slot where rows cannot be locked without blocking every writer (SQLite):
    decide and build outside any write, wait for the slot, then write in one transaction only
    the rows nobody changed meanwhile (`updated` as read), with their executions."""
    rows = list(TriggerState.objects.filter(active=True, disabled=False, evaluate_at=fire_at)[:limit])
    if len(rows) < LOOKAHEAD_MIN_ROWS:
        return 0, False
    seen = {row.id: row.updated for row in rows}
    ready, evaluations, previous = _plan(rows, fire_at)
    wait = (fire_at - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait)
    with transaction.atomic():
        ids_kept = bulk.update_unchanged(TriggerState, rows, _FIELDS, "updated", seen)
        kept = [row for row in rows if row.id in ids_kept]
        ready = [shot for shot in ready if shot.state.id in ids_kept]
        evaluations = [e for e in evaluations if e[0] in ids_kept]
        written = firing.insert(ready)
        _keep_last(kept, ready, written, previous)
        ids = [s.execution.id for s in written if s.execution is not None]
        transaction.on_commit(lambda: started.extend(ids))
        polling.publish_after_commit(evaluations)
    return len(written) + len(evaluations), len(rows) >= limit


def _update_and_wait(rows: list[TriggerState], fire_at: datetime) -> None:
    bulk.update(TriggerState, rows, _FIELDS)
    wait = (fire_at - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait)


def _schedule(row: TriggerState, now: datetime) -> firing.Firing | None:
    try:
        slots = slots_for(row)
        decision = decide(slots, Policy.of(row.definition["trigger"], grace()), row.next_date, now,
                          lambda slot: conditions_hold(row, slots.variables(slot)))
    except Exception as error:  # a broken definition must not stop the others
        row.last_error = f"{now.isoformat()} {error}"
        row.evaluate_at = now + timedelta(minutes=1)
        log.warning("trigger %s not evaluated: %s", row, error)
        return None
    for slot, reason in decision.skipped:
        log.info("trigger %s: slot %s skipped (%s)", row, slot.isoformat(), reason)
    row.next_date = row.evaluate_at = decision.next_date
    if decision.slot is None:
        return None
    row.date = decision.slot
    return firing.Firing(state=row, variables=slots.variables(decision.slot), slot=decision.slot)


# ---------------------------------------------------------------------------------------------
# Backfills


def run_backfills(now: datetime, per_row: int = BACKFILL_BATCH) -> int:
    """Create the next slots of every running backfill; returns how many executions."""
    created = 0
    with transaction.atomic():
        rows = list(TriggerState.objects.select_for_update(skip_locked=_skip_locked())
                    .filter(active=True, backfill__isnull=False).order_by("id")[:100])
        busy = [r for r in rows if r.backfill and not r.backfill.get("paused") and not r.backfill.get("done")]
        firings: list[firing.Firing] = []
        for row in busy:
            backfill = dict(row.backfill or {})
            slots = slots_for(row)
            current = parse_date(backfill["currentDate"], None)
            end = parse_date(backfill["end"], None)
            due = slots.between(current, min(end, now), per_row)
            labels = firing.labels_list(backfill.get("labels"))
            labels.append({"key": "system.backfill", "value": "true"})
            for slot in due:
                firings.append(firing.Firing(state=row, variables=slots.variables(slot), slot=slot,
                                             run=str(backfill["id"]), inputs=backfill.get("inputs"),
                                             labels=labels))
            following = slots.next_after(due[-1]) if due else slots.next_after(current - timedelta(microseconds=1))
            if following is None or following > end:
                backfill["done"] = True
                backfill["currentDate"] = end.isoformat()
            elif following is not None:
                backfill["currentDate"] = following.isoformat()
            backfill["created"] = int(backfill.get("created") or 0) + len(due)
            row.backfill = backfill
        written = firing.insert(firing.prepare(firings, now))
        for row in busy:
            row.save(update_fields=["backfill", "last_error", "updated"])
        firing.start_after_commit([s.execution.id for s in written if s.execution is not None])
        created += len(written)
    return created


def _prune(now: datetime) -> None:
    """Forget slot keys older than `SLOT_KEY_DAYS` (a state's next slot only moves forward, and a
    backfill's keys carry its own id), at most once an hour per process."""
    global _last_prune
    if _last_prune is not None and now - _last_prune < timedelta(hours=1):
        return
    _last_prune = now
    TriggerSlot.objects.filter(created__lt=now - timedelta(days=SLOT_KEY_DAYS)).delete()


def seconds_until_due(cap: float) -> float:
    """How long until the earliest enabled trigger is due, at most `cap` (0 when one is due)."""
    due = (TriggerState.objects.filter(active=True, disabled=False, evaluate_at__isnull=False)
           .order_by("evaluate_at").values_list("evaluate_at", flat=True).first())
    if due is None:
        return cap
    return max(0.0, min(cap, (due - timezone.now()).total_seconds()))
