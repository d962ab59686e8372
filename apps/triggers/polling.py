"""Polling triggers on workers (KESTRA.md §4.5; the contract is `PollingTrigger` in the SDK).

The scheduler claims a due polling trigger like a schedule, stamps it with an evaluation token
(`worker_id`, `evaluate_running_date`) and pushes its `evaluate_at` out by `EVALUATION_TIMEOUT`:
that is the evaluation's lease. A worker runs the plugin's `evaluate`, then, under the trigger's
row lock and only if the token is still the row's, creates the returned execution, records any
error in `last_error` and schedules the next evaluation `interval` later. A worker that dies
leaves the lease to expire and the scheduler evaluates again with a new token; the late answer of
the old one is dropped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.executions.runtime import ports
from apps.plugins.registry import registry
from apps.plugins.sdk import PollResult, parse_duration
from apps.triggers.models import TriggerState

log = logging.getLogger("weir.triggers")
EVALUATION_TIMEOUT = timedelta(minutes=5)


def is_polling(type_name: str) -> bool:
    plugin = registry.get(type_name)
    return bool(plugin is not None and getattr(plugin, "polling", False))


def interval(state: TriggerState) -> timedelta:
    return timedelta(seconds=parse_duration(str(state.definition["trigger"].get("interval") or "PT60S")))


def claim(state: TriggerState, now: datetime) -> str:
    """Stamp `state` (locked by the caller) for one evaluation; returns the token to send."""
    token = uuid.uuid4().hex
    state.worker_id = token
    state.evaluate_running_date = now
    state.evaluate_at = now + EVALUATION_TIMEOUT
    return token


def publish_after_commit(pairs: list[tuple[int, str]]) -> None:
    if not pairs:
        return

    def publish() -> None:
        for state_id, token in pairs:
            ports.enqueue_poll.call(state_id, token)

    transaction.on_commit(publish)


class _Context:
    """The `TriggerContext` of one evaluation."""

    def __init__(self, state: TriggerState) -> None:
        from apps.executions.runtime.runcontext import RenderServices

        self.namespace = state.namespace
        self.flow_id = state.flow_id
        self.trigger_id = state.trigger_id
        self._services = RenderServices(state.namespace)
        self._variables = {"flow": {"id": state.flow_id, "namespace": state.namespace, "revision": state.revision}}

    def render(self, value: Any, variables: Mapping[str, Any] | None = None) -> Any:
        from apps.engine.expressions import render

        if isinstance(value, Mapping):
            return {self.render(str(k), variables): self.render(v, variables) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, variables) for v in value]
        if not isinstance(value, str) or "{" not in value:
            return value
        context = {**self._variables, **variables} if variables else self._variables
        return render(value, context, services=self._services)

    def log(self, level: str, message: str) -> None:
        log.log(logging.getLevelName(level.upper()) if isinstance(logging.getLevelName(level.upper()), int)
                else logging.INFO, "trigger %s.%s:%s %s", self.namespace, self.flow_id, self.trigger_id, message)

    def seal(self, text: str) -> str:
        from apps.secrets.sealing import seal

        return seal(text)

    def secret(self, name: str) -> str:
        quoted = name.replace("'", "")
        return str(self.render("{{ secret('" + quoted + "') }}"))


def evaluate(state_id: int, token: str) -> None:
    if not token:  # "" is the value of a row with no evaluation running
        return
    state = TriggerState.objects.filter(id=state_id, worker_id=token).first()
    if state is None:
        return
    plugin = registry.get(state.type)
    result: PollResult | None = None
    error = ""
    try:
        if plugin is None or not getattr(plugin, "polling", False):
            raise ValueError(f"{state.type} is not a polling trigger")
        props = plugin.Properties.model_validate(state.definition["trigger"])
        result = plugin().evaluate(_Context(state), props)  # type: ignore[attr-defined]
    except Exception as exc:
        error = f"{timezone.now().isoformat()} {type(exc).__name__}: {exc}"
        log.warning("trigger %s: evaluation failed: %s", state, exc)
    finish(state_id, token, result, error)


def finish(state_id: int, token: str, result: PollResult | None, error: str) -> str | None:
    """Record one evaluation's outcome; returns the created execution's id."""
    from apps.triggers import firing

    now = timezone.now()
    if not token:
        return None
    with transaction.atomic():
        state = TriggerState.objects.select_for_update().filter(id=state_id, worker_id=token).first()
        if state is None:
            return None
        created: str | None = None
        if result is not None:
            shot = firing.Firing(state=state, variables=dict(result.variables), inputs=result.inputs,
                                 labels=firing.labels_list(result.labels))
            written = firing.insert(firing.prepare([shot], now))
            if written and written[0].execution is not None:
                created = written[0].execution.id
                state.execution_id = created
                firing.start_after_commit([created])
            elif state.last_error:
                error = state.last_error
        state.date = now
        state.last_error = error
        state.worker_id = ""
        state.evaluate_running_date = None
        state.next_date = state.evaluate_at = now + interval(state)
        state.save(update_fields=["date", "last_error", "worker_id", "evaluate_running_date", "next_date",
                                  "evaluate_at", "execution_id", "updated"])
    return created
