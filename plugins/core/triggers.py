"""Core triggers: `io.kestra.plugin.core.trigger.*` (KESTRA.md §4.1-4.4).

`Toggle`, a task of the same package, is in toggle.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator, model_validator

from apps.plugins.sdk import (
    ID_PATTERN,
    ConditionSpec,
    Duration,
    Issue,
    Plugin,
    Properties,
    Trigger,
    TriggerProperties,
    ValidationContext,
    condition_list,
    dynamic,
    regex_problem,
)
from plugins.core._common import DateTime, Expression, State, TimeWindow, system_label_issues

GROUP = "io.kestra.plugin.core.trigger"

CRON_NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_FIXED_OFFSET = re.compile(r"^(Z|[+-]\d{1,2}(:?\d{2}(:?\d{2})?)?|(UTC|GMT|UT)([+-]\d{1,2}(:?\d{2})?)?)$")
MULTIPLE_CONDITION_TYPES = frozenset(
    ("io.kestra.plugin.core.condition.MultipleCondition", "io.kestra.core.models.conditions.types.MultipleCondition")
)


def check_cron(expression: str, with_seconds: bool = False) -> str:
    """Raise ValueError unless `expression` is a valid Unix cron (5 fields, 6 with seconds first)."""
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in CRON_NICKNAMES:
            raise ValueError(f"unknown cron nickname {expression!r}: use one of {', '.join(CRON_NICKNAMES)}")
        return expression
    fields = text.split()
    want, shape = (6, "second minute hour day-of-month month day-of-week") if with_seconds else (
        5, "minute hour day-of-month month day-of-week")
    if len(fields) != want:
        hint = "" if with_seconds or len(fields) != 6 else " (set `withSeconds: true` for a leading seconds field)"
        raise ValueError(
            f"invalid cron expression {expression!r}: expected {want} fields ({shape}), got {len(fields)}{hint}"
        )
    if not croniter.is_valid(text, second_at_beginning=with_seconds):
        raise ValueError(
            f"invalid cron expression {expression!r}: a field is out of range or malformed "
            "(minutes 0-59, hours 0-23, days 1-31, months 1-12 or JAN-DEC, days of week 0-7 or MON-SUN)"
        )
    return expression


def _check_timezone(value: str) -> str:
    if _FIXED_OFFSET.match(value):
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA id such as Europe/Paris or UTC") from None
    return value


TimeZone = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA time-zone id (`Europe/Paris`) or a fixed offset (`+02:00`, `UTC`)."""

RecoverMissedSchedules = Literal["ALL", "LAST", "NONE"]


class CoreTriggerProperties(TriggerProperties):
    """What every core trigger accepts (KESTRA.md §4.1), with `stopAfter` typed as states."""

    stopAfter: list[State] | None = Field(  # type: ignore[assignment]  # narrower than the SDK's list[str]
        None, description="Disable the trigger when an execution it created ends in one of these states."
    )


def _trigger_issues(raw: Mapping[str, Any]) -> Iterable[Issue]:
    yield from system_label_issues(raw.get("labels"))


class ScheduleOutputs(BaseModel):
    date: str | None = Field(None, description="The scheduled date of this execution (not wall-clock).")
    next: str | None = Field(None, description="The next scheduled date.")
    previous: str | None = Field(None, description="The previous scheduled date.")


class Schedule(Trigger):
    """Start the flow on a cron schedule.

    `cron` is a Unix cron: 5 fields (minute hour day-of-month month day-of-week; day-of-week 0-7,
    0 and 7 = Sunday) or a nickname (`@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`,
    `@yearly`, `@annually`). With `withSeconds: true` a leading seconds field is required.
    Times are read in `timezone` (an IANA id; default: the server's zone).

    - The scheduler never overlaps a schedule with itself: a slot is not started while the
      previous execution it created is still running.
    - `recoverMissedSchedules` decides what happens to slots missed while the scheduler was down
      or the trigger was disabled: `ALL` (the global default) runs them all, `LAST` only the most
      recent, `NONE` skips them. `lateMaximumDelay` drops a slot that could not start in time.
    - `conditions` (e.g. `DayWeek`, `Weekend`, `PublicHoliday`) test `{{ trigger.date }}`; a slot
      whose conditions fail is skipped.
    - Backfills are runtime trigger state (UI/API), no longer the deprecated `backfill` property.

    Variables: `{{ trigger.date }}` (the scheduled slot — use it, not `now()`, for idempotent
    runs), `{{ trigger.next }}`, `{{ trigger.previous }}`. Renaming the trigger id makes it a new
    schedule.
    """

    type = "io.kestra.plugin.core.trigger.Schedule"
    aliases = ("io.kestra.core.models.triggers.types.Schedule",)
    title = "Schedule"
    group = GROUP
    icon = "schedule"
    examples = (
        """\
id: daily_report
namespace: company.team
tasks:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "Report for {{ trigger.date }}"
triggers:
  - id: weekdays_9am
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * MON-FRI"
    timezone: Europe/Paris
    recoverMissedSchedules: LAST
    inputs:
      day: "{{ trigger.date }}"
""",
        """\
id: not_on_holidays
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: working day
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
    conditions:
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.PublicHoliday
            country: FR
""",
    )

    class Properties(CoreTriggerProperties):
        withSeconds: bool = Field(False, description="Use a 6-field cron whose first field is seconds.")
        cron: str = Field(description="Unix cron expression (5 fields) or a nickname such as `@daily`.")
        timezone: TimeZone | None = Field(None, description="IANA time zone of the cron; default: the server's.")
        inputs: dict[str, Any] | None = dynamic(None, description="Inputs of the created executions.")
        lateMaximumDelay: Duration | None = Field(None, description="Skip a slot that cannot start within this.")
        recoverMissedSchedules: RecoverMissedSchedules | None = Field(
            None, description="Missed slots: ALL (the global default), LAST or NONE."
        )
        scheduleConditions: list[ConditionSpec] | None = condition_list(
            description="Deprecated: use `conditions`."
        )
        backfill: dict[str, Any] | None = Field(None, description="Deprecated: backfills are runtime state.")

        @field_validator("cron")
        @classmethod
        def _cron(cls, value: str, info: ValidationInfo) -> str:
            return check_cron(value, bool(info.data.get("withSeconds")))

    Outputs = ScheduleOutputs

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from _trigger_issues(raw)


class ScheduleOnDates(Trigger):
    """Start the flow at each of a list of dates.

    For irregular calendars that no cron expresses (closing days, release dates). `dates` are
    ISO-8601 date-times (with an offset), or an expression rendering to such a list; `timezone`
    applies to the variables. `recoverMissedSchedules` works as on `Schedule`.

    Variables: `{{ trigger.date }}`, `{{ trigger.next }}`, `{{ trigger.previous }}`.
    """

    type = "io.kestra.plugin.core.trigger.ScheduleOnDates"
    title = "Schedule on dates"
    group = GROUP
    icon = "calendar"
    examples = (
        """\
id: closing_days
namespace: company.team
tasks:
  - id: close
    type: io.kestra.plugin.core.log.Log
    message: "Closing for {{ trigger.date }}"
triggers:
  - id: dates
    type: io.kestra.plugin.core.trigger.ScheduleOnDates
    timezone: Europe/Paris
    dates:
      - "2025-03-31T18:00:00+02:00"
      - "2025-06-30T18:00:00+02:00"
""",
    )

    class Properties(CoreTriggerProperties):
        dates: list[DateTime] | Expression = dynamic(description="Date-times to run at, or an expression.")
        timezone: TimeZone | None = Field(None, description="IANA time zone; default: the server's.")
        inputs: dict[str, Any] | None = dynamic(None, description="Inputs of the created executions.")
        recoverMissedSchedules: RecoverMissedSchedules | None = Field(
            None, description="Missed dates: ALL (the global default), LAST or NONE."
        )

    Outputs = ScheduleOutputs

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from _trigger_issues(raw)


class UpstreamFlow(Properties):
    """One upstream flow whose execution is awaited."""

    namespace: str = Field(description="Namespace of the upstream flow.")
    flowId: str | None = Field(None, description="Id of the upstream flow; unset: any flow of the namespace.")
    states: list[State] | None = Field(None, description="Awaited end states; default: SUCCESS.")
    labels: dict[str, Any] | None = Field(None, description="Labels the upstream execution must have.")


FilterField = Literal["FLOW_ID", "NAMESPACE", "STATE", "EXPRESSION"]
FilterType = Literal[
    "EQUAL_TO", "NOT_EQUAL_TO", "IN", "NOT_IN", "IS_TRUE", "IS_FALSE", "IS_NULL", "IS_NOT_NULL",
    "STARTS_WITH", "ENDS_WITH", "REGEX", "CONTAINS",
]
_NEEDS_VALUES = {"IN", "NOT_IN"}
_NEEDS_VALUE = {"EQUAL_TO", "NOT_EQUAL_TO", "STARTS_WITH", "ENDS_WITH", "REGEX", "CONTAINS"}


class Filter(Properties):
    field: FilterField = Field(description="What is tested on the upstream execution.")
    type: FilterType = Field(description="How it is tested.")
    value: str | None = Field(None, description="The operand (an expression for field EXPRESSION).")
    values: list[str] | None = Field(None, description="Operands of IN / NOT_IN.")

    @model_validator(mode="after")
    def _operand(self) -> Filter:
        if self.type in _NEEDS_VALUES and not self.values:
            raise ValueError(f"a {self.type} filter needs `values`")
        if self.type in _NEEDS_VALUE and self.value is None:
            raise ValueError(f"a {self.type} filter needs a `value`")
        if self.type == "REGEX" and self.field != "EXPRESSION" and self.value is not None:
            problem = regex_problem(self.value)
            if problem is not None:
                raise ValueError(problem)
        return self


class Where(Properties):
    """A condition on upstream executions built from filters."""

    id: str = Field(pattern=ID_PATTERN, description="Unique id of this condition.")
    operand: Literal["AND", "OR"] = Field("AND", description="How the filters combine.")
    filters: list[Filter] = Field(min_length=1, description="The filters.")


class Preconditions(Properties):
    """Upstream conditions that must all be met within `timeWindow` before the flow starts."""

    id: str = Field(pattern=ID_PATTERN, description="Id under which the met/unmet state is stored.")
    timeWindow: TimeWindow = Field(default_factory=TimeWindow, description="When the conditions must be met.")
    resetOnSuccess: bool = Field(True, description="Forget met conditions once the flow has been triggered.")
    flows: list[UpstreamFlow] | None = Field(None, description="Upstream flows to wait for.")
    where: list[Where] | None = Field(None, description="Filter-based conditions on upstream executions.")


class FlowOutputs(BaseModel):
    executionId: str | None = Field(None, description="Id of the upstream execution.")
    namespace: str | None = Field(None, description="Its namespace.")
    flowId: str | None = Field(None, description="Its flow id.")
    flowRevision: int | None = Field(None, description="Its flow revision.")
    state: State | None = Field(None, description="The state it transitioned to.")
    outputs: dict[str, Any] | None = Field(None, description="Its flow-level outputs (usable in `inputs`).")


class Flow(Trigger):
    """Start this flow when executions of other flows change state (event-driven chaining).

    The trigger reacts to *transitions* into one of `states` (default: every terminal state),
    once per matching transition — never on CREATED. Select upstream executions either:

    - with `preconditions` (recommended): `flows` to wait for (namespace, optional flowId, states,
      labels) and/or `where` filters, all to be met within `timeWindow` (default: a daily
      `DURATION_WINDOW`). Met conditions are stored and reset after a trigger unless
      `resetOnSuccess: false`; or
    - with legacy `conditions` such as `ExecutionFlow`, `ExecutionStatus`, `ExecutionNamespace`,
      `ExecutionLabels`, `ExecutionOutputs`, `Expression` (or the deprecated `MultipleCondition`).

    `inputs` are rendered with the upstream execution: `{{ trigger.outputs.x }}` reads its
    flow-level outputs. Variables: `{{ trigger.executionId }}`, `namespace`, `flowId`,
    `flowRevision`, `state`.
    """

    type = "io.kestra.plugin.core.trigger.Flow"
    aliases = ("io.kestra.core.models.triggers.types.Flow",)
    title = "Flow trigger"
    group = GROUP
    icon = "flow"
    examples = (
        """\
id: after_load
namespace: company.team
tasks:
  - id: transform
    type: io.kestra.plugin.core.log.Log
    message: "Upstream {{ trigger.executionId }} ended {{ trigger.state }}"
triggers:
  - id: on_load
    type: io.kestra.plugin.core.trigger.Flow
    states:
      - SUCCESS
    inputs:
      rows: "{{ trigger.outputs.rows ?? 0 }}"
    preconditions:
      id: load_done
      timeWindow:
        type: DAILY_TIME_DEADLINE
        deadline: "09:00:00"
      flows:
        - namespace: company.team
          flowId: load
          states: [SUCCESS]
      where:
        - id: prod_only
          filters:
            - field: NAMESPACE
              type: STARTS_WITH
              value: company
""",
        """\
id: legacy_flow_trigger
namespace: company.team
tasks:
  - id: next
    type: io.kestra.plugin.core.log.Log
    message: upstream succeeded
triggers:
  - id: on_upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.team
        flowId: upstream
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in:
          - SUCCESS
""",
    )

    class Properties(CoreTriggerProperties):
        states: list[State] | None = Field(None, description="Transitions to react to; default: terminal states.")
        inputs: dict[str, Any] | None = dynamic(None, description="Inputs of the created execution.")
        preconditions: Preconditions | None = Field(None, description="Upstream conditions to wait for.")

    Outputs = FlowOutputs

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from _trigger_issues(raw)


class Webhook(Trigger):
    """Start the flow when an HTTP request hits its URL.

    URL: `/api/v1/executions/webhook/{namespace}/{flowId}/{key}`, for GET, POST and PUT. The URL
    needs no login, so `key` is the only protection: make it long and random, or read it from a
    secret. The response is 200 with the execution when one is created, 204 when `conditions`
    are not met, 404 for an unknown flow or key. A `MultipleCondition` cannot be used here.

    Variables: `{{ trigger.body }}` (JSON-decoded when possible, else the raw text),
    `{{ trigger.headers }}` and `{{ trigger.parameters }}` (query parameters; both map to lists).
    There is no `inputs` property: the flow's input `defaults` apply.
    """

    type = "io.kestra.plugin.core.trigger.Webhook"
    aliases = ("io.kestra.core.models.triggers.types.Webhook",)
    title = "Webhook"
    group = GROUP
    icon = "webhook"
    examples = (
        """\
id: on_webhook
namespace: company.team
tasks:
  - id: payload
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.body }}"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: 4wjtkzwVGBM9yKnjm3yv8r
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ trigger.body.event == 'push' }}"
""",
    )

    class Properties(CoreTriggerProperties):
        key: str = dynamic(max_length=256, description="The secret part of the URL (at most 256 characters).")

    class Outputs(BaseModel):
        body: Any = Field(None, description="The request body, JSON-decoded when possible.")
        headers: dict[str, list[str]] | None = Field(None, description="Request headers.")
        parameters: dict[str, list[str]] | None = Field(None, description="Query parameters.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from _trigger_issues(raw)
        for i, condition in enumerate(raw.get("conditions") or []):
            if isinstance(condition, Mapping) and condition.get("type") in MULTIPLE_CONDITION_TYPES:
                yield ("conditions", i), "A Webhook trigger cannot use a MultipleCondition"


PLUGINS: list[type[Plugin]] = [Schedule, ScheduleOnDates, Flow, Webhook]
