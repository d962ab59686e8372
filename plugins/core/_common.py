"""Value types and checks shared by the core plugins (internal to `plugins.core`, not SDK API).

Kestra's `Property<T>` accepts either a literal `T` or an expression that renders to one, so
most typed dynamic properties here are `T | Expression`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema, model_validator

from apps.plugins.sdk import Duration, Issue, Properties, dynamic

# ---------------------------------------------------------------------------------------------
# Expressions


def is_expression(value: Any) -> bool:
    """True for a string the expression engine would render (`{{ … }}` or `{% … %}`)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _expression_only(value: str, info: ValidationInfo) -> str:
    # After rendering (the worker validates with context {"rendered": True}) the expression is
    # gone: the plugin itself interprets the rendered string (e.g. labels given as JSON).
    if isinstance(info.context, dict) and info.context.get("rendered"):
        return value
    if not is_expression(value):
        raise ValueError(f"{value!r} is neither a valid literal nor an expression such as '{{{{ inputs.x }}}}'")
    return value


Expression = Annotated[
    str,
    AfterValidator(_expression_only),
    WithJsonSchema({"type": "string", "pattern": r".*\{[{%].*", "description": "An expression."}),
]
"""A string that must contain an expression; used as the `| Expression` half of typed properties."""


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


# ---------------------------------------------------------------------------------------------
# Dates and times (java.time types, written as ISO-8601 strings)

_ZONE_SUFFIX = re.compile(r"\[[^\]]+\]$")
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?$")
_OFFSET_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$")


def _as_text(value: Any) -> Any:
    """YAML loaders may turn unquoted timestamps into objects: keep the ISO text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _check_datetime(value: str) -> str:
    if is_expression(value):
        return value
    try:
        parsed = datetime.fromisoformat(_ZONE_SUFFIX.sub("", value.strip()))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(
            f"{value!r} is not a zoned ISO-8601 date-time: use e.g. 2024-01-31T09:00:00Z or "
            "2024-01-31T09:00:00+02:00, or an expression"
        )
    return value


def _check_local_time(value: str) -> str:
    if not is_expression(value) and not _LOCAL_TIME.match(value):
        raise ValueError(f"{value!r} is not a time of day: use HH:mm or HH:mm:ss, e.g. '09:00:00' (quoted)")
    return value


def _check_offset_time(value: str) -> str:
    if not is_expression(value) and not _OFFSET_TIME.match(value):
        raise ValueError(
            f"{value!r} is not a time with an offset: use HH:mm:ss followed by Z or +HH:MM, e.g. '14:00:00+02:00'"
        )
    return value


DateTime = Annotated[
    str,
    BeforeValidator(_as_text),
    AfterValidator(_check_datetime),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A `ZonedDateTime`: ISO-8601 with an offset (`2024-01-31T09:00:00Z`), or an expression."""

LocalTime = Annotated[
    str, AfterValidator(_check_local_time), WithJsonSchema({"type": "string", "format": "partial-time"})
]
"""A `LocalTime` (`HH:mm[:ss]`). Quote it in YAML: YAML 1.1 reads `14:00:00` as a number."""

OffsetTime = Annotated[
    str, AfterValidator(_check_offset_time), WithJsonSchema({"type": "string", "format": "time"})
]
"""An `OffsetTime` (`HH:mm:ss+HH:MM` or `…Z`), or an expression."""


# ---------------------------------------------------------------------------------------------
# Shared enums

State = Literal[
    "CREATED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING", "FAILED",
    "KILLED", "CANCELLED", "RETRYING", "RETRIED", "SKIPPED",
]
"""Kestra's `State.Type` (KESTRA.md §5.2), shared by executions and task runs."""

DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]

InputSpec = Annotated[dict[str, Any], WithJsonSchema({"type": "object", "$weirRef": "Input"})]
"""A flow input declaration (KESTRA.md §1.3), kept raw; validated with the flow's input models."""


# ---------------------------------------------------------------------------------------------
# Labels


class Label(Properties):
    """One label in the list form `[{key, value}]`."""

    key: str = dynamic(description="Label key.")
    value: Any = dynamic(description="Label value (rendered to a string).")


LabelsSpec = dict[str, Any] | list[Label]
"""Labels as a map `{key: value}` or a list of `{key, value}`."""

SYSTEM_PREFIX = "system."


def system_label_issues(
    labels: Any, path: tuple[str | int, ...] = ("labels",), allowed: frozenset[str] = frozenset()
) -> Iterator[Issue]:
    """Issues for literal label keys with the reserved `system.` prefix."""
    if isinstance(labels, Mapping):
        pairs: list[tuple[tuple[str | int, ...], Any, Any]] = [((*path, k), k, v) for k, v in labels.items()]
    elif isinstance(labels, list):
        pairs = [((*path, i), e.get("key"), e.get("value")) for i, e in enumerate(labels) if isinstance(e, Mapping)]
    else:
        return
    for where, key, value in pairs:
        if isinstance(key, str) and key.startswith(SYSTEM_PREFIX) and key not in allowed:
            yield where, f"System labels can only be set by Kestra itself, offending label: {key}={value}"


def parse_labels(value: Any) -> list[dict[str, str]]:
    """Rendered labels as `[{key, value}]`: a map, a list of pairs, or a JSON string of a map/list."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"labels must be a map, a list of key/value pairs or JSON of one: {error}") from error
    if isinstance(value, Mapping):
        return [{"key": str(k), "value": _label_text(v)} for k, v in value.items()]
    if isinstance(value, list):
        pairs = [e.model_dump() if isinstance(e, Properties) else e for e in value]
        return [{"key": str(e.get("key")), "value": _label_text(e.get("value"))} for e in pairs if isinstance(e, Mapping)]
    raise ValueError(f"labels must be a map or a list of key/value pairs, not {type(value).__name__}")


def _label_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Files


InputFiles = dict[str, str] | Expression
"""Files to create: `{relative/path: content}`, or an expression rendering to such a JSON map."""


# ---------------------------------------------------------------------------------------------
# Time windows (Flow trigger preconditions, MultipleCondition)

TimeWindowType = Literal["DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"]

_WINDOW_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # window type -> (allowed optional fields, required fields)
    "DURATION_WINDOW": ({"window", "windowAdvance"}, set()),
    "SLIDING_WINDOW": ({"window"}, set()),
    "DAILY_TIME_DEADLINE": (set(), {"deadline"}),
    "DAILY_TIME_WINDOW": (set(), {"startTime", "endTime"}),
}


class TimeWindow(Properties):
    """The period in which every upstream condition must be met.

    - `DURATION_WINDOW` (default): fixed windows of `window` (default `P1D`) starting at midnight,
      shifted by `windowAdvance` (e.g. `window: PT6H` + `windowAdvance: PT3H` → 03:00-09:00, …).
    - `SLIDING_WINDOW`: the last `window` (default `P1D`) looking back from now.
    - `DAILY_TIME_DEADLINE`: from midnight until `deadline` (`HH:mm:ss`) each day.
    - `DAILY_TIME_WINDOW`: between `startTime` and `endTime` each day.

    Fields that do not belong to the chosen `type` are rejected.
    """

    type: TimeWindowType = "DURATION_WINDOW"
    window: Duration | None = Field(None, description="Window length (DURATION_WINDOW, SLIDING_WINDOW).")
    windowAdvance: Duration | None = Field(None, description="Shift of the window start (DURATION_WINDOW).")
    deadline: LocalTime | None = Field(None, description="Daily deadline (DAILY_TIME_DEADLINE).")
    startTime: LocalTime | None = Field(None, description="Daily start (DAILY_TIME_WINDOW).")
    endTime: LocalTime | None = Field(None, description="Daily end (DAILY_TIME_WINDOW).")

    @model_validator(mode="after")
    def _fields_match_type(self) -> TimeWindow:
        allowed, required = _WINDOW_FIELDS[self.type]
        given = {f for f in ("window", "windowAdvance", "deadline", "startTime", "endTime") if getattr(self, f)}
        extra = sorted(given - allowed - required)
        missing = sorted(required - given)
        if extra:
            raise ValueError(f"{', '.join(extra)} cannot be used with a {self.type} time window")
        if missing:
            raise ValueError(f"a {self.type} time window needs {' and '.join(missing)}")
        return self


# ---------------------------------------------------------------------------------------------
# Small validators


def json_list_issue(value: Any, path: tuple[str | int, ...]) -> Iterator[Issue]:
    """For a literal (non-expression) string that must hold a JSON array, say so if it does not."""
    import json

    if isinstance(value, str) and not is_expression(value):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            yield path, f"{value!r} is not a JSON array: use a YAML list or a string like '[\"a\", \"b\"]'"
