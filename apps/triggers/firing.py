"""Executions created by triggers, in bulk, each with its slot key (DESIGN.md §4b).

`Firing` is one execution to create. `insert` writes the slot keys and the executions of a batch
in the caller's transaction: one bulk write each (`bulk.insert`) when no slot was taken before
(the usual case), else one savepoint per firing so that a slot already taken creates nothing and the others
still go in. The executions are written CREATED and started after commit by a worker
(`tasks.start`), or by the sweeper if that message is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from apps.engine.expressions import render, render_typed
from apps.engine.inputs import InputsInvalid, resolve_inputs, typed_inputs
from apps.engine.model import new_id
from apps.executions.models import Execution
from apps.executions.runtime import ports
from apps.secrets.sealing import seal_inputs
from apps.triggers import bulk
from apps.triggers.models import TriggerSlot, TriggerState

log = logging.getLogger("weir.triggers")
START_CHUNK = 100


class FiringError(Exception):
    """A trigger's inputs or labels cannot be made into an execution (the slot is skipped)."""


def labels_list(value: Any) -> list[dict[str, str]]:
    if isinstance(value, Mapping):
        return [{"key": str(k), "value": str(v)} for k, v in value.items()]
    if isinstance(value, list):
        return [{"key": str(i.get("key")), "value": str(i.get("value"))} for i in value if isinstance(i, Mapping)]
    return []


def _merge(base: list[dict[str, str]], extra: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    merged = {lb["key"]: lb for lb in base}
    for label in extra:
        merged[label["key"]] = dict(label)
    return list(merged.values())


@dataclass
class Firing:
    state: TriggerState
    variables: dict[str, Any]
    slot: datetime | None = None
    run: str = ""
    """"" for the schedule itself, the backfill id for a backfill (part of the slot key)."""
    inputs: Mapping[str, Any] | None = None
    labels: list[dict[str, str]] = field(default_factory=list)
    execution: Execution | None = None


def _render(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return render_typed(value, dict(context)) if "{" in value else value
    if isinstance(value, Mapping):
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context) for v in value]
    return value


def build(firing: Firing, now: datetime) -> Execution:
    """The unsaved CREATED execution of one firing; FiringError when its inputs do not validate."""
    state = firing.state
    definition = state.definition
    trigger = definition["trigger"]
    context = {"trigger": firing.variables,
               "flow": {"id": state.flow_id, "namespace": state.namespace, "revision": state.revision}}
    declarations = list(definition.get("inputs") or [])
    provided = {**_render(trigger.get("inputs") or {}, context), **(firing.inputs or {})}
    execution_id = new_id()
    try:
        if declarations:
            typed = typed_inputs(resolve_inputs(declarations, provided, render_typed=render_typed,
                                                store_file=_no_files))
            typed = seal_inputs(declarations, typed)
        else:
            typed = {}
    except InputsInvalid as error:
        raise FiringError("invalid inputs: " + "; ".join(p.message for p in error.problems)) from error
    labels = _merge(labels_list(definition.get("labels")),
                    [{"key": lb["key"], "value": str(render(lb["value"], context)) if "{" in lb["value"] else lb["value"]}
                     for lb in labels_list(trigger.get("labels"))])
    labels = _merge(labels, firing.labels)
    labels.append({"key": "system.correlationId", "value": execution_id})
    stamp = now.isoformat()
    return Execution(
        id=execution_id, namespace=state.namespace, flow_id=state.flow_id, flow_revision=state.revision,
        state="CREATED", history=[{"state": "CREATED", "date": stamp}], inputs=typed, labels=labels,
        variables={}, original_id=execution_id, meta={"attemptNumber": 1, "originalCreatedDate": stamp},
        trigger={"id": state.trigger_id, "type": state.type, "variables": firing.variables},
    )


def _no_files(input_id: str, value: Any) -> str:
    raise ValueError("a trigger cannot provide a FILE input")


def prepare(firings: Sequence[Firing], now: datetime) -> list[Firing]:
    """Build each firing's execution; a firing that cannot be built is logged on its trigger."""
    ready = []
    for firing in firings:
        try:
            firing.execution = build(firing, now)
        except Exception as error:
            firing.state.last_error = f"{now.isoformat()} slot {firing.slot}: {error}"
            log.warning("trigger %s: slot %s skipped: %s", firing.state, firing.slot, error)
            continue
        ready.append(firing)
    return ready


def insert(firings: Sequence[Firing], before: Callable[[], None] = lambda: None) -> list[Firing]:
    """Write the slot keys and executions of `firings` (built); returns those written. `before`
    runs between the slot keys and the executions (the scheduler updates its rows and waits for
    the slot there), once whatever happens."""
    keyed = [f for f in firings if f.slot is not None]
    try:
        with transaction.atomic():
            bulk.insert(TriggerSlot, [_key(f) for f in keyed])
            write = bulk.prepare_insert(Execution, [f.execution for f in firings if f.execution])
            before()
            write()
        return list(firings)
    except IntegrityError:
        log.warning("a slot of this batch was already taken: inserting one by one")
    before()
    written = []
    for firing in firings:
        try:
            with transaction.atomic():
                if firing.slot is not None:
                    _key(firing).save(force_insert=True)
                assert firing.execution is not None
                firing.execution.save(force_insert=True)
            written.append(firing)
        except IntegrityError:
            log.warning("trigger %s: slot %s already has an execution", firing.state, firing.slot)
    return written


def _key(firing: Firing) -> TriggerSlot:
    assert firing.execution is not None and firing.slot is not None
    state = firing.state
    return TriggerSlot(namespace=state.namespace, flow_id=state.flow_id, trigger_id=state.trigger_id,
                       slot=firing.slot, run=firing.run, execution_id=firing.execution.id)


def start(execution_ids: Sequence[str]) -> None:
    """Ask the workers to start these executions (committed), `START_CHUNK` per message. A lost
    message leaves its executions CREATED for the sweeper to start."""
    ids = list(execution_ids)
    for i in range(0, len(ids), START_CHUNK):
        try:
            ports.enqueue_trigger_start.call(ids[i:i + START_CHUNK])
        except Exception:
            log.exception("start message for %d executions not sent", len(ids[i:i + START_CHUNK]))


def start_after_commit(execution_ids: Sequence[str]) -> None:
    """`start` these executions once the transaction commits."""
    if execution_ids:
        ids = list(execution_ids)
        transaction.on_commit(lambda: start(ids))
