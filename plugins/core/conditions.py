"""Core conditions, date/time and logic: `io.kestra.plugin.core.condition.*` (KESTRA.md §4.6).

Conditions are not tasks: they appear under `triggers[].conditions`, `listeners[].conditions`
and inside `Not`/`Or`/`MultipleCondition`. Conditions about executions are in
conditions_execution.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from apps.plugins.sdk import Condition, ConditionProperties, ConditionSpec, Plugin, condition_list, dynamic
from plugins.core._common import DateTime, DayOfWeek, OffsetTime

GROUP = "io.kestra.plugin.core.condition"
TRIGGER_DATE = "{{ trigger.date }}"


def legacy(name: str) -> tuple[str, str]:
    """The two pre-0.17 names of a condition: `…conditions.types.<name>Condition` and `…<name>Condition`."""
    return (f"io.kestra.core.models.conditions.types.{name}Condition", f"{GROUP}.{name}Condition")


class DateProperties(ConditionProperties):
    date: DateTime = dynamic(TRIGGER_DATE, description="The date tested; default: the trigger date.")


class DateTimeBetween(Condition):
    """True when `date` is after `after` and before `before` (either bound may be omitted).

    Bounds are ISO-8601 date-times with an offset. Use it on a `Schedule` to run only during a
    campaign or to stop a schedule after an end date.
    """

    type = f"{GROUP}.DateTimeBetween"
    aliases = legacy("DateTimeBetween")
    title = "Date-time between"
    group = GROUP
    icon = "calendar"
    examples = (
        """\
id: campaign
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: campaign day
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 8 * * *"
    conditions:
      - type: io.kestra.plugin.core.condition.DateTimeBetween
        after: "2025-01-01T00:00:00Z"
        before: "2025-03-31T23:59:59Z"
""",
    )

    class Properties(DateProperties):
        after: DateTime | None = dynamic(None, description="The date must be after this date-time.")
        before: DateTime | None = dynamic(None, description="The date must be before this date-time.")


class DayWeek(Condition):
    """True when `date` falls on `dayOfWeek` (MONDAY … SUNDAY)."""

    type = f"{GROUP}.DayWeek"
    aliases = legacy("DayWeek")
    title = "Day of week"
    group = GROUP
    icon = "calendar"
    examples = (
        """\
id: mondays
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: it is Monday
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
    conditions:
      - type: io.kestra.plugin.core.condition.DayWeek
        dayOfWeek: MONDAY
""",
    )

    class Properties(DateProperties):
        dayOfWeek: DayOfWeek = Field(description="The required day of the week.")


class DayWeekInMonth(Condition):
    """True when `date` is the FIRST/SECOND/THIRD/FOURTH/LAST `dayOfWeek` of its month.

    E.g. "the first Monday of the month", which a cron cannot express.
    """

    type = f"{GROUP}.DayWeekInMonth"
    aliases = legacy("DayWeekInMonth")
    title = "Day of week in month"
    group = GROUP
    icon = "calendar"
    examples = (
        """\
id: first_monday
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: first Monday of the month
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 11 * * 1"
    conditions:
      - type: io.kestra.plugin.core.condition.DayWeekInMonth
        dayOfWeek: MONDAY
        dayInMonth: FIRST
""",
    )

    class Properties(DateProperties):
        dayOfWeek: DayOfWeek = Field(description="The day of the week.")
        dayInMonth: Literal["FIRST", "LAST", "SECOND", "THIRD", "FOURTH"] = Field(
            description="Which occurrence of that day in the month."
        )


class Weekend(Condition):
    """True when `date` is a Saturday or a Sunday. Wrap it in `Not` for working days."""

    type = f"{GROUP}.Weekend"
    aliases = legacy("Weekend")
    title = "Weekend"
    group = GROUP
    icon = "calendar"
    examples = (
        """\
id: weekend_only
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: weekend batch
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@hourly"
    conditions:
      - type: io.kestra.plugin.core.condition.Weekend
""",
    )

    class Properties(DateProperties):
        pass


class TimeBetween(Condition):
    """True when the time of day of `date` is after `after` and before `before`.

    Times carry an offset (`14:00:00+02:00`, `08:00:00Z`); quote them in YAML. Either bound may
    be omitted.
    """

    type = f"{GROUP}.TimeBetween"
    aliases = legacy("TimeBetween")
    title = "Time between"
    group = GROUP
    icon = "clock"
    examples = (
        """\
id: office_hours
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: during office hours
triggers:
  - id: every_15_minutes
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/15 * * * *"
    conditions:
      - type: io.kestra.plugin.core.condition.TimeBetween
        after: "09:00:00+01:00"
        before: "18:00:00+01:00"
""",
    )

    class Properties(DateProperties):
        after: OffsetTime | None = dynamic(None, description="The time must be after this time.")
        before: OffsetTime | None = dynamic(None, description="The time must be before this time.")


class PublicHoliday(Condition):
    """True when `date` is a public holiday of `country` (ISO 3166 code, e.g. `FR`), optionally
    of a `subDivision` (e.g. `DE-BY`). Wrap it in `Not` to skip holidays."""

    type = f"{GROUP}.PublicHoliday"
    aliases = legacy("PublicHoliday")
    title = "Public holiday"
    group = GROUP
    icon = "calendar"
    examples = (
        """\
id: skip_holidays
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: business day
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 7 * * *"
    conditions:
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.PublicHoliday
            country: FR
""",
    )

    class Properties(DateProperties):
        country: str | None = dynamic(None, description="ISO 3166-1 alpha-2 country code, e.g. FR.")
        subDivision: str | None = dynamic(None, description="ISO 3166-2 subdivision, e.g. DE-BY.")


class Expression(Condition):
    """True when `expression` renders to something truthy: anything but `false`, `0`, `-0` or an
    empty string (KESTRA.md §6.6).

    The most flexible condition: test trigger variables (`{{ trigger.body.event == 'push' }}`),
    KV values (`{{ kv('threshold') < 10 }}`) or dates.
    """

    type = f"{GROUP}.Expression"
    aliases = ("io.kestra.core.models.conditions.types.VariableCondition", f"{GROUP}.ExpressionCondition")
    title = "Expression"
    group = GROUP
    icon = "code"
    examples = (
        """\
id: on_push
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.body }}"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: a-long-random-key
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ trigger.body.event == 'push' }}"
""",
    )

    class Properties(ConditionProperties):
        expression: str = dynamic(description="Rendered; `false`, `0`, `-0` or empty mean false.")


class Not(Condition):
    """True when **none** of `conditions` is true (the negation of their OR)."""

    type = f"{GROUP}.Not"
    aliases = legacy("Not")
    title = "Not"
    group = GROUP
    icon = "not"
    examples = (
        """\
id: weekdays
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: weekday
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
    conditions:
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.Weekend
""",
    )

    class Properties(ConditionProperties):
        conditions: list[ConditionSpec] | None = condition_list(required=True, description="Conditions to negate.")


class Or(Condition):
    """True when **at least one** of `conditions` is true (a trigger's own list is an AND)."""

    type = f"{GROUP}.Or"
    aliases = legacy("Or")
    title = "Or"
    group = GROUP
    icon = "or"
    examples = (
        """\
id: monday_or_friday
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: Monday or Friday
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
    conditions:
      - type: io.kestra.plugin.core.condition.Or
        conditions:
          - type: io.kestra.plugin.core.condition.DayWeek
            dayOfWeek: MONDAY
          - type: io.kestra.plugin.core.condition.DayWeek
            dayOfWeek: FRIDAY
""",
    )

    class Properties(ConditionProperties):
        conditions: list[ConditionSpec] | None = condition_list(required=True, description="Any must hold.")


PLUGINS: list[type[Plugin]] = [
    DateTimeBetween, DayWeek, DayWeekInMonth, Weekend, TimeBetween, PublicHoliday, Expression, Not, Or,
]
