"""Flow triggers (KESTRA.md §4.3): start listener flows when executions of other flows end.

`on_execution_end` runs after an execution's terminal state is committed (`on_state_change`
after a non-terminal one). For each enabled `io.kestra.plugin.core.trigger.Flow` trigger of
another live, enabled flow whose `states` include the new state, it tests the legacy
`conditions`, then records what the execution satisfies of the trigger's `MultipleCondition`s and
`preconditions` in the trigger's time window (a row of the KV table, scope `trigger`, locked while
it is updated), and creates the listener execution once everything is met, with `inputs` rendered
against the upstream execution.

A listener hears only executions of namespaces its own may READ under the rule of
`apps.namespaces.reach` (its namespace and children, or namespaces whose allowedNamespaces list
it). As in Kestra, a flow never triggers itself (`FlowService.removeUnwanted`), CREATED is never a
transition, a trigger whose inputs fail to render creates nothing (a warning is logged), and
inputs that do not validate are passed as rendered.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import Conflict, NotFound, Unprocessable
from apps.engine import context as engine_context
from apps.engine.expressions import render, render_typed
from apps.engine.states import TERMINATED, State
from apps.executions.models import Execution, KVEntry, TaskRun
from apps.flows import services as flow_services
from apps.flows import validation
from apps.flows.models import Flow
from apps.namespaces import reach
from apps.plugins.registry import registry
from apps.plugins.sdk import parse_duration
from apps.triggers import conditions
from apps.triggers.conditions import ConditionContext, ConditionError, Subject

log = logging.getLogger(__name__)

FLOW_TRIGGER = "io.kestra.plugin.core.trigger.Flow"
SCOPE = "trigger"
DAY = 86400.0
_DEFAULT_STATES = frozenset(s.value for s in TERMINATED)


@dataclass(frozen=True)
class Listener:
    """One enabled Flow trigger of a live, enabled flow (plugin defaults applied)."""

    namespace: str
    flow_id: str
    revision: int
    variables: Mapping[str, Any]
    trigger: Mapping[str, Any]

    @property
    def states(self) -> frozenset[str]:
        declared = self.trigger.get("states")
        return frozenset(str(s) for s in declared) if declared else _DEFAULT_STATES

    @property
    def where(self) -> str:
        return f"trigger '{self.trigger.get('id')}' of {self.namespace}.{self.flow_id}"


# ---------------------------------------------------------------------------------------------
# The listeners, cached per process until a flow changes


_lock = threading.Lock()
_cache: tuple[tuple[Any, ...], list[Listener]] | None = None


def listeners(flows_seen: tuple[Any, ...] | None = None) -> list[Listener]:
    """Every Flow trigger that may fire, cached under the flows' change key
    (`flow_services.FLOWS_CHANGED`): `flows_seen` when the caller read it (the decision that
    ended an execution reads it right after its COMMIT, in the same round trip), else one query."""
    global _cache
    if flows_seen is not None:
        key = flows_seen
    else:
        from apps.executions.runtime.snapshots import hot_cursor

        with hot_cursor() as cursor:  # asked at the end of every execution: a prepared statement
            cursor.execute(flow_services.FLOWS_CHANGED, [])
            key = tuple(cursor.fetchone())
    cached = _cache
    if cached is not None and cached[0] == key:
        return cached[1]
    found = _load()
    with _lock:
        _cache = (key, found)
    return found


def _load() -> list[Listener]:
    found: list[Listener] = []
    # Only sources that name a Flow trigger type are parsed (the type is always written out).
    rows = Flow.objects.filter(deleted=False, disabled=False).filter(
        Q(source__contains="trigger.Flow") | Q(source__contains="types.Flow")).only(
        "namespace", "flow_id", "revision", "source")
    for row in rows:
        try:
            data = validation.apply_plugin_defaults(flow_services.parsed(row.source))
        except Exception:  # a stored source that no longer parses: it has no working trigger
            log.warning("flow %s.%s cannot be read for its Flow triggers", row.namespace, row.flow_id)
            continue
        for trigger in data.get("triggers") or []:
            if (isinstance(trigger, Mapping) and not trigger.get("disabled")
                    and registry.canonical(str(trigger.get("type"))) == FLOW_TRIGGER):
                found.append(Listener(row.namespace, row.flow_id, row.revision,
                                      dict(data.get("variables") or {}), trigger))
    return found


# ---------------------------------------------------------------------------------------------
# Evaluation


def on_execution_end(execution_id: str, flows_seen: tuple[Any, ...] | None = None) -> None:
    """Called by lifecycle once an execution's terminal state is committed, with the flows' change
    key when the ending decision read it. Never raises: the upstream execution's own end (parent
    notification, queue release) must not depend on it."""
    try:
        if not listeners(flows_seen):  # most installations have no Flow trigger: no need to read the row
            return
        row = Execution.objects.filter(id=execution_id, deleted=False).first()
        if row is not None:
            on_transition(row, flows_seen=flows_seen)
    except Exception:
        log.exception("Flow triggers could not be evaluated for execution %s", execution_id)


def on_state_change(execution_id: str, state: str) -> None:
    """For a non-terminal transition (RUNNING, PAUSED…), which a trigger reacts to when its
    `states` name it; terminal states are `on_execution_end`'s. Call it after the commit of the
    transition, with the state entered (the row may have moved on since). Never raises."""
    if state == State.CREATED or state in _DEFAULT_STATES:
        return
    try:
        row = Execution.objects.filter(id=execution_id, deleted=False).first()
        if row is not None:
            on_transition(row, state)
    except Exception:
        log.exception("Flow triggers could not be evaluated for execution %s (%s)", execution_id, state)


def on_transition(row: Execution, state: str | None = None, *, flows_seen: tuple[Any, ...] | None = None
                  ) -> list[str]:
    """Evaluate every Flow trigger for the state `row` has just entered (`state`, default its
    current one); the ids of the executions created. `flows_seen`: as `listeners`'."""
    state = str(state or row.state)
    if state == State.CREATED:
        return []
    # A listener only hears executions its namespace may read (apps/namespaces/reach.py):
    # filtered before any condition runs, so nothing of another namespace reaches its flow.
    candidates = [lsn for lsn in listeners(flows_seen) if state in lsn.states
                  and (lsn.namespace, lsn.flow_id) != (row.namespace, row.flow_id)
                  and reach.reach(lsn.namespace, row.namespace, reach.Access.READ).allowed]
    if not candidates:
        return []
    upstream = _Upstream(row, state)
    created = []
    for listener in candidates:
        try:
            new_id = _evaluate(listener, upstream)
        except Exception:
            log.exception("Flow %s failed on execution %s", listener.where, row.id)
            continue
        if new_id:
            created.append(new_id)
    if upstream.recorded:
        KVEntry.objects.filter(scope=SCOPE, expires_at__lt=timezone.now()).delete()
    return created


class _Upstream:
    """The ended execution, with its render context built once and only if a condition needs it."""

    def __init__(self, row: Execution, state: str) -> None:
        self.row = row
        self.state = state
        self.subject = Subject(namespace=row.namespace, flow_id=row.flow_id, state=state,
                               labels=list(row.labels or []), outputs=row.outputs,
                               attempt_states=self._attempt_states)
        self._base: dict[str, Any] | None = None
        self.recorded = False

    def _attempt_states(self) -> list[list[str]]:
        return [[str(a.get("state")) for a in attempts] for attempts in
                TaskRun.objects.filter(execution_id=self.row.id).values_list("attempts", flat=True)]

    def base(self) -> dict[str, Any]:
        if self._base is None:
            from apps.executions.runtime import runner

            flow = runner.compiled(self.row.namespace, self.row.flow_id, self.row.flow_revision)
            _, data = runner.snapshot(self.row.id)
            self._base = engine_context.build(flow, data, runner.env())
        return self._base

    def context(self, listener: Listener) -> ConditionContext:
        """Kestra renders with the listener flow and the upstream execution (`runContextFactory.of`)."""
        from apps.executions.runtime.runcontext import RenderServices

        def variables() -> dict[str, Any]:
            return {**self.base(), "vars": dict(listener.variables),
                    "flow": {"id": listener.flow_id, "namespace": listener.namespace,
                             "revision": listener.revision, "tenantId": None}}

        return ConditionContext(self.subject, variables, RenderServices(listener.namespace, self.row.id))

    def trigger_variables(self) -> dict[str, Any]:
        row = self.row
        result: dict[str, Any] = {"executionId": row.id, "namespace": row.namespace, "flowId": row.flow_id,
                                  "flowRevision": row.flow_revision, "state": self.state}
        if row.outputs:
            result["outputs"] = row.outputs
        return result


def _evaluate(listener: Listener, upstream: _Upstream) -> str | None:
    ctx = upstream.context(listener)
    trigger = listener.trigger
    declared = list(trigger.get("conditions") or [])
    if not conditions.all_valid([c for c in declared if not conditions.is_multiple(c)], ctx, listener.where):
        return None
    groups = [_legacy_group(c) for c in declared if conditions.is_multiple(c)]
    if isinstance(trigger.get("preconditions"), Mapping):
        groups.append(_preconditions_group(trigger["preconditions"]))
    with transaction.atomic():
        rows = []
        for group in groups:
            upstream.recorded = True
            rows.append(_record(listener, group, ctx))
        if not all(met for met, _ in rows):
            return None
        for (_, row), group in zip(rows, groups, strict=True):
            if group.reset_on_success and row is not None:
                row.delete()
        return _create(listener, upstream, ctx)


def _create(listener: Listener, upstream: _Upstream, ctx: ConditionContext) -> str | None:
    from apps.executions import services

    trigger = listener.trigger
    variables = upstream.trigger_variables()
    render_context = {**ctx.variables, "trigger": variables}
    try:
        inputs = {str(k): _render_deep(v, render_context, ctx.services) for k, v in
                  (trigger.get("inputs") or {}).items()}
        labels = [{"key": k, "value": render(v, render_context, services=ctx.services)}
                  for k, v in conditions.labels_pairs(trigger.get("labels"))]
    except Exception as error:
        log.warning("Failed to trigger flow %s.%s for trigger %s, invalid inputs: %s",
                    listener.namespace, listener.flow_id, trigger.get("id"), error)
        return None
    created = {"id": trigger.get("id"), "type": trigger.get("type"), "variables": variables}
    for mode in ("validated", "raw"):
        try:
            with transaction.atomic():
                row = services.create_execution(listener.namespace, listener.flow_id, inputs=inputs,
                                                inputs_mode=mode, labels=labels, trigger=created)
            return row.id
        except Unprocessable as error:
            # Kestra does not validate what a Flow trigger passes: the listener runs with the
            # inputs as rendered (a required input may be missing, as in its own tests).
            log.warning("Flow %s: inputs do not validate (%s); passing them as rendered", listener.where, error)
        except (NotFound, Conflict) as error:
            log.warning("Failed to trigger flow %s.%s for trigger %s: %s",
                        listener.namespace, listener.flow_id, trigger.get("id"), error)
            return None
    return None


def _render_deep(value: Any, context: dict[str, Any], services: Any) -> Any:
    """Strings rendered (a lone `{{ … }}` keeps its type, as for subflow inputs); maps and lists walked."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{{") and text.endswith("}}"):
            return render_typed(value, context, services=services)
        return render(value, context, services=services)
    if isinstance(value, Mapping):
        return {str(k): _render_deep(v, context, services) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_deep(v, context, services) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Multiple conditions and preconditions: named tests that must all be met within a window


@dataclass
class _Group:
    id: str
    window: Mapping[str, Any]
    reset_on_success: bool
    tests: dict[str, Callable[[ConditionContext], bool]]


def _legacy_group(condition: Mapping[str, Any]) -> _Group:
    """The deprecated MultipleCondition; `window`/`windowAdvance` shorten `timeWindow`."""
    window = condition.get("timeWindow") or {"type": "DURATION_WINDOW", "window": condition.get("window"),
                                             "windowAdvance": condition.get("windowAdvance")}
    tests: dict[str, Callable[[ConditionContext], bool]] = {
        str(name): partial(_valid, sub) for name, sub in (condition.get("conditions") or {}).items()}
    return _Group(str(condition.get("id")), window, condition.get("resetOnSuccess") is not False, tests)


def _preconditions_group(spec: Mapping[str, Any]) -> _Group:
    """Kestra names the tests `condition_<n>` for `flows` and `condition_<n>_<id>` for `where`."""
    tests: dict[str, Callable[[ConditionContext], bool]] = {}
    n = 0
    for flow in spec.get("flows") or []:
        n += 1
        tests[f"condition_{n}"] = partial(_upstream_flow, flow)
    for where in spec.get("where") or []:
        n += 1
        tests[f"condition_{n}_{where.get('id')}"] = partial(_safe_where, where)
    return _Group(str(spec.get("id")), spec.get("timeWindow") or {}, spec.get("resetOnSuccess") is not False, tests)


def _valid(condition: Any, ctx: ConditionContext) -> bool:
    return conditions.is_valid(condition, ctx)


def _upstream_flow(flow: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return conditions.upstream_flow_met(flow, ctx.subject)


def _safe_where(where: Mapping[str, Any], ctx: ConditionContext) -> bool:
    try:
        return conditions.where_met(where, ctx)
    except ConditionError as error:
        log.warning("precondition '%s' is false: %s", where.get("id"), error)
        return False


@dataclass
class Window:
    start: datetime
    end: datetime
    sliding: bool = False


def window_at(spec: Mapping[str, Any], now: datetime) -> Window | None:
    """The window `now` falls in, or None outside a daily window (nothing is recorded then)."""
    kind = spec.get("type") or "DURATION_WINDOW"
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "SLIDING_WINDOW":
        return Window(now - timedelta(seconds=_seconds(spec.get("window"), DAY)), now, sliding=True)
    if kind == "DAILY_TIME_DEADLINE":
        end = _at(midnight, spec.get("deadline"))
        return Window(midnight, end) if local < end else None
    if kind == "DAILY_TIME_WINDOW":
        start, end = _at(midnight, spec.get("startTime")), _at(midnight, spec.get("endTime"))
        return Window(start, end) if start <= local < end else None
    length = _seconds(spec.get("window"), DAY)
    advance = _seconds(spec.get("windowAdvance"), 0.0)
    index = math.floor(((local - midnight).total_seconds() - advance) / length)
    start = midnight + timedelta(seconds=advance + index * length)
    return Window(start, start + timedelta(seconds=length))


def _seconds(value: Any, default: float) -> float:
    seconds = parse_duration(str(value)) if value else default
    return seconds if seconds > 0 or default == 0 else default


def _at(midnight: datetime, value: Any) -> datetime:
    parsed = time.fromisoformat(str(value))
    return midnight.replace(hour=parsed.hour, minute=parsed.minute, second=parsed.second)


def _record(listener: Listener, group: _Group, ctx: ConditionContext) -> tuple[bool, KVEntry | None]:
    """Add what this execution meets to the group's window; (all met?, the locked row)."""
    now = timezone.now()
    window = window_at(group.window, now)
    if window is None:
        return False, None
    row = _locked_row(listener.namespace, f"{listener.flow_id}/{listener.trigger.get('id')}/{group.id}")
    value = row.value if isinstance(row.value, dict) else {}
    results: dict[str, str] = dict(value.get("results") or {})
    if window.sliding:
        results = {k: v for k, v in results.items() if datetime.fromisoformat(v) >= window.start}
    else:
        stored = value.get("start"), value.get("end")
        if stored[0] and stored[1] and datetime.fromisoformat(stored[0]) <= now < datetime.fromisoformat(stored[1]):
            window = Window(datetime.fromisoformat(stored[0]), datetime.fromisoformat(stored[1]))
        else:
            results = {}
    for name, check in group.tests.items():
        if check(ctx):
            results[name] = now.isoformat()
    row.value = {"start": window.start.isoformat(), "end": window.end.isoformat(), "results": results}
    row.kind = "JSON"
    row.expires_at = now + (window.end - window.start) if window.sliding else window.end
    row.save()
    return all(name in results for name in group.tests), row


def _locked_row(namespace: str, key: str) -> KVEntry:
    """The window row, locked for this transaction (created when missing, even under a race)."""
    row = KVEntry.objects.select_for_update().filter(namespace=namespace, scope=SCOPE, key=key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return KVEntry.objects.create(namespace=namespace, scope=SCOPE, key=key, value={}, kind="JSON")
    except IntegrityError:
        return KVEntry.objects.select_for_update().get(namespace=namespace, scope=SCOPE, key=key)
