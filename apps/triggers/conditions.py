"""What the core conditions mean (KESTRA.md §4.6), tested against one execution: the upstream
execution of a Flow trigger, or the execution a webhook is about to create.

The condition plugins (plugins/core/conditions*.py) only declare properties; only the host knows
executions, so their meaning lives here, in one table. As in Kestra's ConditionService, an error
while testing a condition (a failed render, an unparsable date) makes it false and is logged: a
broken condition on one trigger must not stop the others.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from typing import Any

from apps.engine.expressions import render, userregex
from apps.plugins.registry import registry
from apps.plugins.sdk import is_truthy

log = logging.getLogger(__name__)

GROUP = "io.kestra.plugin.core.condition."
MULTIPLE = GROUP + "MultipleCondition"
TRIGGER_DATE = "{{ trigger.date }}"


class ConditionError(Exception):
    """A condition could not be tested (unknown type, failed render, unsupported condition)."""


@dataclass
class Subject:
    """The execution a condition tests."""

    namespace: str
    flow_id: str
    state: str
    labels: list[dict[str, Any]] = field(default_factory=list)
    outputs: Mapping[str, Any] | None = None
    """Flow-level outputs (`ExecutionOutputs`)."""
    attempt_states: Callable[[], list[list[str]]] = list
    """Per task run, the states of its attempts (`HasRetryAttempt`); loaded only when asked."""


class ConditionContext:
    """A subject plus the variables expressions see (built lazily: most conditions need none)."""

    def __init__(self, subject: Subject, variables: Callable[[], dict[str, Any]] | dict[str, Any],
                 services: Any = None) -> None:
        self.subject = subject
        self._variables = variables
        self.services = services

    @cached_property
    def variables(self) -> dict[str, Any]:
        return self._variables() if callable(self._variables) else self._variables

    def render(self, value: Any, extra: Mapping[str, Any] | None = None) -> str:
        """A property's value rendered to text (plain values pass through as text)."""
        if value is None:
            return ""
        text = str(value)
        if "{" not in text:
            return text
        context = {**self.variables, **extra} if extra else self.variables
        try:
            return render(text, context, services=self.services)
        except Exception as error:
            raise ConditionError(f"cannot render {text!r}: {error}") from error


def canonical(type_name: Any) -> str:
    """The canonical type of a condition (aliases such as `ExpressionCondition` resolved)."""
    name = str(type_name or "")
    return registry.canonical(name) or name


def is_multiple(condition: Any) -> bool:
    return isinstance(condition, Mapping) and canonical(condition.get("type")) == MULTIPLE


def all_valid(conditions: list[Any] | None, ctx: ConditionContext, where: str = "") -> bool:
    """True when every condition holds (an empty list holds)."""
    return all(is_valid(c, ctx, where) for c in conditions or [])


def is_valid(condition: Any, ctx: ConditionContext, where: str = "") -> bool:
    """`test`, with errors logged and counted as false."""
    try:
        return test(condition, ctx)
    except ConditionError as error:
        log.warning("condition %s%s is false: %s", where and f"of {where} ",
                    condition.get("type") if isinstance(condition, Mapping) else condition, error)
        return False


def test(condition: Any, ctx: ConditionContext) -> bool:
    """Whether one condition holds; raises ConditionError when it cannot be tested."""
    if not isinstance(condition, Mapping):
        raise ConditionError(f"a condition must be a mapping, got {condition!r}")
    name = canonical(condition.get("type"))
    handler = _HANDLERS.get(name.removeprefix(GROUP)) if name.startswith(GROUP) else None
    if handler is None:
        raise ConditionError(f"condition type {condition.get('type')!r} cannot be evaluated here")
    return handler(condition, ctx)


# ---------------------------------------------------------------------------------------------
# Execution conditions


def _execution_flow(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    s = ctx.subject
    return s.namespace == ctx.render(c.get("namespace")) and s.flow_id == ctx.render(c.get("flowId"))


def _execution_namespace(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    namespace = ctx.render(c.get("namespace"))
    comparison = c.get("comparison") or ("PREFIX" if c.get("prefix") else "EQUALS")
    actual = ctx.subject.namespace
    if comparison == "PREFIX":
        return actual.startswith(namespace)
    if comparison == "SUFFIX":
        return actual.endswith(namespace)
    return actual == namespace


def _in_not_in(value: str, c: Mapping[str, Any]) -> bool:
    accepted, rejected = c.get("in"), c.get("notIn")
    return (accepted is None or value in accepted) and (rejected is None or value not in rejected)


def _execution_status(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return _in_not_in(ctx.subject.state, c)


def labels_pairs(labels: Any) -> list[tuple[str, str]]:
    """Labels as (key, value) text pairs, from the map or the `[{key, value}]` list form."""
    if isinstance(labels, Mapping):
        return [(str(k), "" if v is None else str(v)) for k, v in labels.items()]
    if isinstance(labels, list):
        return [(str(i.get("key")), str(i.get("value"))) for i in labels if isinstance(i, Mapping)]
    return []


def has_labels(subject: Subject, wanted: Any) -> bool:
    own = set(labels_pairs(subject.labels))
    return all(pair in own for pair in labels_pairs(wanted))


def _execution_labels(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    wanted = [(k, ctx.render(v)) for k, v in labels_pairs(c.get("labels"))]
    return has_labels(ctx.subject, [{"key": k, "value": v} for k, v in wanted])


def _execution_outputs(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    outputs = ctx.subject.outputs
    if not outputs:
        return False
    trigger = dict(ctx.variables.get("trigger") or {})
    trigger["outputs"] = dict(outputs)
    return is_truthy(ctx.render(c.get("expression"), {"trigger": trigger}))


def _has_retry_attempt(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return any(len(states) > 1 and any(_in_not_in(s, c) for s in states) for states in ctx.subject.attempt_states())


# ---------------------------------------------------------------------------------------------
# Logic


def _expression(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return is_truthy(ctx.render(c.get("expression")))


def _not(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return not any(is_valid(sub, ctx) for sub in c.get("conditions") or [])


def _or(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return any(is_valid(sub, ctx) for sub in c.get("conditions") or [])


def _multiple(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    raise ConditionError("a MultipleCondition is only evaluated by a Flow trigger")


# ---------------------------------------------------------------------------------------------
# Dates (each `date` defaults to the trigger date)


def _date(c: Mapping[str, Any], ctx: ConditionContext) -> datetime:
    text = ctx.render(c.get("date") or TRIGGER_DATE).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise ConditionError(f"{text!r} is not an ISO-8601 date-time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bound(c: Mapping[str, Any], ctx: ConditionContext, name: str) -> datetime | None:
    if c.get(name) in (None, ""):
        return None
    return _date({"date": c[name]}, ctx)


def _date_time_between(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    date, after, before = _date(c, ctx), _bound(c, ctx, "after"), _bound(c, ctx, "before")
    return (after is None or date > after) and (before is None or date < before)


def _day_week(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return calendar.day_name[_date(c, ctx).weekday()].upper() == str(c.get("dayOfWeek")).upper()


def _day_week_in_month(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    date = _date(c, ctx)
    if calendar.day_name[date.weekday()].upper() != str(c.get("dayOfWeek")).upper():
        return False
    which = str(c.get("dayInMonth")).upper()
    if which == "LAST":
        return date.day + 7 > calendar.monthrange(date.year, date.month)[1]
    rank = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4}.get(which)
    if rank is None:
        raise ConditionError(f"dayInMonth {which!r} is not FIRST, SECOND, THIRD, FOURTH or LAST")
    return (date.day - 1) // 7 + 1 == rank


def _weekend(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    return _date(c, ctx).weekday() >= 5


_OFFSET_TIME = re.compile(r"^(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$")


def _instant_of_day(value: time) -> float:
    """An offset time as seconds of the UTC day (Java `OffsetTime` compares this way)."""
    offset = value.utcoffset() or timedelta(0)
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6 - offset.total_seconds()


def _time(text: str) -> time:
    match = _OFFSET_TIME.match(text.strip())
    if not match:
        raise ConditionError(f"{text!r} is not a time such as 09:00:00+01:00")
    return time.fromisoformat(match.group(1) + (match.group(2) or "Z").replace("Z", "+00:00"))


def _time_between(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    date = _date(c, ctx)
    now = _instant_of_day(date.timetz())
    after = _instant_of_day(_time(ctx.render(c["after"]))) if c.get("after") else None
    before = _instant_of_day(_time(ctx.render(c["before"]))) if c.get("before") else None
    return (after is None or now > after) and (before is None or now < before)


def _public_holiday(c: Mapping[str, Any], ctx: ConditionContext) -> bool:
    raise ConditionError("PublicHoliday needs a holiday calendar, which this server does not have")


_HANDLERS: dict[str, Callable[[Mapping[str, Any], ConditionContext], bool]] = {
    "ExecutionFlow": _execution_flow,
    "FlowCondition": _execution_flow,
    "ExecutionNamespace": _execution_namespace,
    "FlowNamespaceCondition": _execution_namespace,
    "ExecutionStatus": _execution_status,
    "ExecutionLabels": _execution_labels,
    "ExecutionOutputs": _execution_outputs,
    "HasRetryAttempt": _has_retry_attempt,
    "Expression": _expression,
    "Not": _not,
    "Or": _or,
    "MultipleCondition": _multiple,
    "DateTimeBetween": _date_time_between,
    "DayWeek": _day_week,
    "DayWeekInMonth": _day_week_in_month,
    "Weekend": _weekend,
    "TimeBetween": _time_between,
    "PublicHoliday": _public_holiday,
}


# ---------------------------------------------------------------------------------------------
# Flow trigger `preconditions` (KESTRA.md §4.3): upstream flows and `where` filters


def upstream_flow_met(spec: Mapping[str, Any], subject: Subject) -> bool:
    """One `preconditions.flows` entry: namespace, optional flowId, states and labels."""
    if spec.get("namespace") is not None and subject.namespace != spec.get("namespace"):
        return False
    if spec.get("flowId") is not None and subject.flow_id != spec.get("flowId"):
        return False
    if spec.get("states") is not None and subject.state not in spec["states"]:
        return False
    return spec.get("labels") is None or has_labels(subject, spec["labels"])


def _regex_matches(pattern: str, text: str) -> bool:
    """A `REGEX` filter: the whole text matches the user's pattern, within the regex time limit."""
    try:
        return userregex.fullmatch(pattern, text) is not None
    except userregex.RegexError as error:
        raise ConditionError(str(error)) from error


def where_met(spec: Mapping[str, Any], ctx: ConditionContext) -> bool:
    """One `preconditions.where` entry: its filters combined with AND (default) or OR."""
    results = (_filter_met(f, ctx) for f in spec.get("filters") or [])
    return any(results) if spec.get("operand") == "OR" else all(results)


def _filter_met(f: Mapping[str, Any], ctx: ConditionContext) -> bool:
    s = ctx.subject
    fields: dict[str, Callable[[], str | None]] = {
        "FLOW_ID": lambda: s.flow_id, "NAMESPACE": lambda: s.namespace, "STATE": lambda: s.state,
        "EXPRESSION": lambda: ctx.render(f.get("value")),
    }
    if f.get("field") not in fields:
        raise ConditionError(f"unknown filter field {f.get('field')!r}")
    actual = fields[str(f["field"])]()
    value, values = f.get("value"), f.get("values") or []
    tests: dict[str, Callable[[], bool]] = {
        "EQUAL_TO": lambda: value == actual, "NOT_EQUAL_TO": lambda: value != actual,
        "IN": lambda: actual in values, "NOT_IN": lambda: actual not in values,
        "IS_TRUE": lambda: is_truthy(actual), "IS_FALSE": lambda: not is_truthy(actual),
        "IS_NULL": lambda: actual is None, "IS_NOT_NULL": lambda: actual is not None,
        "STARTS_WITH": lambda: actual is not None and actual.startswith(str(value)),
        "ENDS_WITH": lambda: actual is not None and actual.endswith(str(value)),
        "REGEX": lambda: actual is not None and _regex_matches(str(value), actual),
        "CONTAINS": lambda: actual is not None and str(value) in actual,
    }
    if f.get("type") not in tests:
        raise ConditionError(f"unknown filter type {f.get('type')!r}")
    return tests[str(f["type"])]()
