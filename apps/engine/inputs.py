"""Resolve the values given to a flow's inputs against their declarations (KESTRA.md §1.3).

Declarations are validated when a flow is saved (``apps.flows.inputs``); this module types and
checks the *values* when an execution is created, resumed, started by a Subflow or a trigger, or
dry-run by ``/executions/{ns}/{id}/validate``. It follows Kestra's ``FlowInputOutput``:

1. value = the provided value, else ``defaults``;
2. dependencies first: an input is disabled when a dependency is disabled or its
   ``dependsOn.condition`` renders to anything but boolean ``true``; disabled inputs are skipped;
3. SELECT/MULTISELECT ``expression`` is rendered with the inputs resolved so far;
4. null + ``required`` is a "missing required input" error, null otherwise;
5. otherwise the value is parsed to its type, then the type's validator runs.

Every problem is collected (not just the first) so a form can show them all at once. Typed values
are JSON-serialisable (dates, times, instants and durations stay ISO strings) because they are
stored in a JSON column and rendered later.

Pure Python: nothing here imports Django. Rendering and file storage are injected by the host.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from apps.engine.expressions import userregex
from apps.engine.storage_uri import SCHEMES, storage_name
from apps.plugins.sdk import parse_duration

__all__ = [
    "InputProblem",
    "InputsInvalid",
    "RenderTyped",
    "ResolvedInput",
    "StoreFile",
    "defaults_for_render",
    "resolve_inputs",
    "typed_inputs",
]

RenderTyped = Callable[[str, Mapping[str, Any]], Any]
"""Renders an expression in typed mode with a context such as ``{"inputs": {...}}``."""

StoreFile = Callable[[str, Any], str]
"""``(input id, bytes | file-like | local path)`` → internal-storage URI of the stored file."""


@dataclass
class InputProblem:
    """One user-facing error; ``message`` names the input and the broken constraint."""

    input_id: str
    message: str


@dataclass
class ResolvedInput:
    """The outcome for one declared input, in declaration order.

    ``value`` is the typed value when ``problems`` is empty; otherwise it is the best value known
    (the raw value when parsing failed) so a validation form can echo it back. A disabled input
    has ``enabled=False`` and ``value=None``.
    """

    id: str
    enabled: bool
    value: Any
    problems: list[str] = field(default_factory=list)


class InputsInvalid(Exception):
    """Raised when any input has a problem: Kestra then creates no execution (HTTP 422)."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem.message for problem in problems) or "invalid inputs")


class _Invalid(Exception):
    """A constraint broken by a value; ``constraint`` reads after "Invalid input for `x`, "."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


# ---------------------------------------------------------------------------------------------
# Public API


def resolve_inputs(
    declarations: Sequence[Mapping[str, Any]],
    provided: Mapping[str, Any],
    *,
    render_typed: RenderTyped,
    store_file: StoreFile | None = None,
) -> list[ResolvedInput]:
    """Type and validate ``provided`` against the flow's input ``declarations``.

    ``provided`` holds JSON-body values, multipart fields (strings), or typed Subflow values;
    keys that match no declaration are ignored, as Kestra does. ``render_typed`` evaluates
    ``dependsOn.condition`` and SELECT/MULTISELECT ``expression``. ``store_file`` uploads FILE
    values that are not already storage URIs; it receives the raw value, which may be a local
    path string, so the host must only accept paths it created itself (e.g. temp files of a
    multipart upload), never paths taken from a JSON body.

    Returns one ``ResolvedInput`` per declaration, in declaration order; nothing is raised for
    invalid values (see ``typed_inputs``).
    """
    by_id = {_input_id(declaration): declaration for declaration in _unique(declarations)}

    results: dict[str, ResolvedInput] = {}
    for input_id in _dependency_order(declarations, by_id, results):
        results[input_id] = _resolve_one(
            by_id[input_id], provided, results, render_typed=render_typed, store_file=store_file
        )
    return [results[_input_id(declaration)] for declaration in _unique(declarations)]


def typed_inputs(resolved: list[ResolvedInput]) -> dict[str, Any]:
    """The execution's ``inputs`` map: enabled inputs, dotted ids nested (``nested.a`` →
    ``{"nested": {"a": …}}``), so expressions read them as ``inputs.nested.a``.

    Raises ``InputsInvalid`` with every problem when any input has one: an execution is only
    created when all of its inputs are valid.
    """
    problems = [InputProblem(item.id, message) for item in resolved for message in item.problems]
    if problems:
        raise InputsInvalid(problems)
    return _nest((item.id, item.value) for item in resolved if item.enabled)


def defaults_for_render(declarations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The nested map of declared ``defaults``, typed best-effort.

    Used when inputs are not resolved (trigger-created executions, inputs_mode none/raw): Kestra
    still exposes defaults at render time. A default that does not parse is kept as written
    rather than dropped, since nothing validates it here; FILE inputs have no defaults.
    """
    entries: list[tuple[str, Any]] = []
    for declaration in _unique(declarations):
        default = declaration.get("defaults")
        type_name = _type_name(declaration)
        if default is None or type_name == "FILE":
            continue
        try:
            value = _parse(type_name, declaration, _declared(type_name, default), None)
        except (_Invalid, ValueError, TypeError):
            value = _json_safe(default)
        entries.append((_input_id(declaration), value))
    return _nest(entries)


# ---------------------------------------------------------------------------------------------
# Resolution


def _resolve_one(
    declaration: Mapping[str, Any],
    provided: Mapping[str, Any],
    results: Mapping[str, ResolvedInput],
    *,
    render_typed: RenderTyped,
    store_file: StoreFile | None,
) -> ResolvedInput:
    input_id = _input_id(declaration)
    type_name = _type_name(declaration)

    # 1. provided value, else defaults (FILE inputs cannot have defaults).
    value = _provided_value(provided.get(input_id), type_name)
    if value is None and type_name != "FILE":
        value = _declared(type_name, declaration.get("defaults"))

    # 2. dependencies: only resolved ones are in `results` (see `_dependency_order`).
    depends_on = declaration.get("dependsOn") or {}
    if isinstance(depends_on, Mapping):
        dependencies = [str(dep) for dep in depends_on.get("inputs") or []]
        if any(not results[dep].enabled for dep in dependencies if dep in results):
            return ResolvedInput(input_id, False, None, [])
        condition = depends_on.get("condition")
        if condition is not None:
            try:
                outcome = render_typed(str(condition), _render_context(results))
            except Exception as error:
                message = f"Invalid input for `{input_id}`, its dependsOn condition failed to render: {error}"
                return ResolvedInput(input_id, False, None, [message])
            if outcome is not True:
                return ResolvedInput(input_id, False, None, [])

    if type_name not in _PARSERS:
        shown = declaration.get("type")
        return ResolvedInput(
            input_id, True, value, [f"Invalid input for `{input_id}`, unknown type `{shown}`"]
        )

    # 3. dynamic choices for SELECT / MULTISELECT.
    declaration = dict(declaration)
    expression = declaration.get("expression")
    if type_name in {"SELECT", "MULTISELECT"} and expression is not None:
        try:
            choices = render_typed(str(expression), _render_context(results))
        except Exception as error:
            message = f"Invalid input for `{input_id}`, cannot render its `expression`: {error}"
            return ResolvedInput(input_id, True, value, [message])
        if not isinstance(choices, list):
            message = (
                f"Invalid input for `{input_id}`, its `expression` must render to a list of strings, "
                f"but rendered a {_kind(choices)}"
            )
            return ResolvedInput(input_id, True, value, [message])
        declaration["values"] = [_text(choice) for choice in choices if choice is not None]
        declaration.pop("options", None)

    # 4. null.
    if value is None:
        if not _required(declaration):
            return ResolvedInput(input_id, True, None, [])
        return ResolvedInput(input_id, True, None, [f"Missing required input: `{input_id}`"])

    # 5. parse then validate.
    store = None if store_file is None else lambda raw: store_file(input_id, raw)
    try:
        typed = _parse(type_name, declaration, value, store)
    except _Invalid as problem:
        return ResolvedInput(input_id, True, value, [_message(input_id, type_name, problem, value)])
    try:
        _validate(type_name, declaration, typed)
    except _Invalid as problem:
        return ResolvedInput(input_id, True, typed, [_message(input_id, type_name, problem, value)])
    return ResolvedInput(input_id, True, typed, [])


def _dependency_order(
    declarations: Sequence[Mapping[str, Any]],
    by_id: Mapping[str, Mapping[str, Any]],
    results: dict[str, ResolvedInput],
) -> list[str]:
    """Ids in an order where every input comes after its ``dependsOn.inputs``, otherwise keeping
    declaration order. Unknown dependencies and cycles are rejected when a flow is saved; should
    one slip through, the inputs involved are recorded in ``results`` as disabled with a problem
    instead of being silently resolved."""
    pending: dict[str, list[str]] = {}
    for declaration in _unique(declarations):
        input_id = _input_id(declaration)
        depends_on = declaration.get("dependsOn") or {}
        deps = depends_on.get("inputs") if isinstance(depends_on, Mapping) else None
        pending[input_id] = [str(dep) for dep in deps or []]

    for input_id, deps in pending.items():
        unknown = [dep for dep in deps if dep not in by_id]
        if unknown:
            names = ", ".join(f"`{dep}`" for dep in unknown)
            results[input_id] = ResolvedInput(
                input_id,
                False,
                None,
                [f"Invalid input for `{input_id}`, it depends on unknown input {names}"],
            )

    order: list[str] = []
    done = set(results)
    remaining = [input_id for input_id in pending if input_id not in done]
    while remaining:
        ready = next((i for i in remaining if all(dep in done for dep in pending[i])), None)
        if ready is None:
            for input_id in remaining:
                results[input_id] = ResolvedInput(
                    input_id,
                    False,
                    None,
                    [f"Invalid input for `{input_id}`, its dependsOn inputs form a cycle"],
                )
            break
        order.append(ready)
        done.add(ready)
        remaining.remove(ready)
    return order


def _render_context(results: Mapping[str, ResolvedInput]) -> dict[str, Any]:
    return {"inputs": _nest((item.id, item.value) for item in results.values() if item.enabled)}


def _provided_value(value: Any, type_name: str) -> Any:
    """An empty multipart field means "not given" for types where "" cannot be a value: HTML
    forms send every field, and an optional INT left blank must not fail as "not an INT"."""
    if isinstance(value, str) and value == "" and type_name not in _EMPTY_STRING_TYPES:
        return None
    return value


_EMPTY_STRING_TYPES = frozenset({"STRING", "SECRET", "ENUM", "SELECT", "EMAIL"})


def _declared(type_name: str, value: Any) -> Any:
    """Undo YAML 1.1 surprises in declared values: an unquoted ``11:59:59`` loads as the
    sexagesimal int 43199, which a TIME input means as a time of day."""
    if type_name == "TIME" and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 86400:
        return f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"
    return value


# ---------------------------------------------------------------------------------------------
# Parsing: raw value -> typed, JSON-serialisable value


_Store = Callable[[Any], str] | None
"""``store_file`` bound to the input being resolved; None where files cannot be stored."""


def _parse(type_name: str, declaration: Mapping[str, Any], value: Any, store: _Store) -> Any:
    return _PARSERS[type_name](declaration, value, store)


def _parse_string(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _text(value)
    raise _Invalid("it must be a string")


def _parse_int(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> int:
    if isinstance(value, bool):
        raise _Invalid("it must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value):
        return int(value)
    raise _Invalid("it must be an integer")


_INT_RE = re.compile(r"^[+-]?\d+$")


def _parse_float(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> float:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _FLOAT_RE.match(value.strip()):
        number = float(value.strip())
    if number is None or not math.isfinite(number):
        raise _Invalid("it must be a number")
    return number


_FLOAT_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _parse_boolean(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise _Invalid("it must be `true` or `false`")


def _parse_datetime(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> str:
    return _format_instant(*_instant(value))


def _parse_date(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> str:
    return _date(value).isoformat()


def _parse_time(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> str:
    return _format_time(*_time(value))


def _parse_duration(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> str:
    _seconds(value)
    return str(value).strip()


def _parse_file(_declaration: Mapping[str, Any], value: Any, store: _Store) -> str:
    if isinstance(value, str) and value.startswith(_STORAGE_SCHEMES):
        try:
            storage_name(value)
        except ValueError as error:
            raise _Invalid(str(error)) from error
        return value
    if store is None:
        raise _Invalid("files cannot be uploaded here; pass an internal-storage URI (`kestra:///…`)")
    if isinstance(value, dict | list | int | float | bool):
        raise _Invalid("it must be a file or an internal-storage URI")
    try:
        return store(value)
    except Exception as error:
        raise _Invalid(f"the file could not be stored: {error}") from error


_STORAGE_SCHEMES = SCHEMES


def _parse_json(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> Any:
    if not isinstance(value, str):
        return _json_safe(value)
    try:
        return json.loads(value)
    except ValueError as error:
        raise _Invalid(f"it must be valid JSON ({error})") from error


def _parse_yaml(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> Any:
    if not isinstance(value, str):
        return _json_safe(value)
    try:
        return _json_safe(yaml.safe_load(value))
    except yaml.YAMLError as error:
        raise _Invalid(f"it must be valid YAML ({' '.join(str(error).split())})") from error


def _parse_uri(_declaration: Mapping[str, Any], value: Any, _store: _Store) -> str:
    if isinstance(value, str) and _URI_RE.match(value):
        return value
    raise _Invalid("it must be a URI such as `https://example.com/path`")


_URI_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")


def _parse_email(declaration: Mapping[str, Any], value: Any, store: _Store) -> str:
    return _parse_string(declaration, value, store)


def _parse_list(declaration: Mapping[str, Any], value: Any, store: _Store) -> list[Any]:
    items = value
    if isinstance(value, str):
        try:
            items = json.loads(value)
        except ValueError as error:
            raise _Invalid(f"it must be a JSON list ({error})") from error
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        raise _Invalid("it must be a list")
    item_type = _upper(declaration.get("itemType") or "STRING")
    if item_type in {"ARRAY", "MULTISELECT"} or item_type not in _PARSERS:
        raise _Invalid(f"its itemType `{declaration.get('itemType')}` is not supported")
    parsed: list[Any] = []
    for item in items:
        try:
            if item is None:
                raise _Invalid("null")
            parsed.append(_PARSERS[item_type]({}, item, store))
        except _Invalid as error:
            raise _Invalid(f"unable to parse array element as `{item_type}` on `{_display(item)}`") from error
    return parsed


def _parse_array(declaration: Mapping[str, Any], value: Any, store: _Store) -> list[Any]:
    if not declaration.get("itemType"):
        raise _Invalid("its declaration has no `itemType`")
    return _parse_list(declaration, value, store)


_PARSERS: dict[str, Callable[[Mapping[str, Any], Any, _Store], Any]] = {
    "STRING": _parse_string,
    "SECRET": _parse_string,
    "ENUM": _parse_string,
    "SELECT": _parse_string,
    "MULTISELECT": _parse_list,
    "INT": _parse_int,
    "FLOAT": _parse_float,
    "BOOLEAN": _parse_boolean,
    "DATETIME": _parse_datetime,
    "DATE": _parse_date,
    "TIME": _parse_time,
    "DURATION": _parse_duration,
    "FILE": _parse_file,
    "JSON": _parse_json,
    "YAML": _parse_yaml,
    "URI": _parse_uri,
    "EMAIL": _parse_email,
    "ARRAY": _parse_array,
}


# ---------------------------------------------------------------------------------------------
# Validation: constraints declared on the input, checked on the typed value


def _validate(type_name: str, declaration: Mapping[str, Any], value: Any) -> None:
    if type_name in {"STRING", "SECRET"}:
        _check_pattern(declaration.get("validator"), value)
    elif type_name in {"ENUM", "SELECT"}:
        _check_choices(declaration, [value])
    elif type_name == "MULTISELECT":
        _check_choices(declaration, value)
    elif type_name in {"INT", "FLOAT"}:
        _check_range(declaration, value, lambda bound: _number(type_name, bound), _text)
    elif type_name == "DURATION":
        _check_range(declaration, value, _seconds, str)
    elif type_name == "DATETIME":
        _check_period(
            type_name, declaration, value, _instant, lambda bound: _format_instant(*_instant(bound))
        )
    elif type_name == "DATE":
        _check_period(type_name, declaration, value, _date, lambda bound: _date(bound).isoformat())
    elif type_name == "TIME":
        _check_period(type_name, declaration, value, _time, lambda bound: _format_time(*_time(bound)))
    elif type_name == "EMAIL" and not _EMAIL_RE.match(value):
        raise _Invalid("it must be a valid email")


# Kestra's EmailInput pattern (the empty string is accepted there too).
_EMAIL_RE = re.compile("^$|^[a-zA-Z0-9_!#$%&\u2019*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+$")


def _check_pattern(pattern: Any, value: str) -> None:
    """``validator`` is a Java regex that must match the whole value (``String.matches``)."""
    if pattern is None:
        return
    try:
        matched = userregex.fullmatch(str(pattern), value) is not None
    except userregex.InvalidRegex as error:
        raise _Invalid(f"its validator `{pattern}` is not a valid pattern ({error})") from error
    except userregex.RegexTimeout as error:
        raise _Invalid(f"its validator could not be checked: {error}") from error
    if not matched:
        raise _Invalid(f"it must match the pattern `{pattern}`")


def _check_choices(declaration: Mapping[str, Any], values: list[Any]) -> None:
    choices = declaration.get("values")
    if choices is None:
        choices = declaration.get("options")
    if declaration.get("allowCustomValue") is True or choices is None:
        return
    allowed = [_text(choice) for choice in choices]
    for value in values:
        if _text(value) not in allowed:
            raise _Invalid(f"it must match the values `[{', '.join(allowed)}]`")


def _check_range(
    declaration: Mapping[str, Any], value: Any, measure: Callable[[Any], float], show: Callable[[Any], str]
) -> None:
    amount = measure(value)
    low, high = declaration.get("min"), declaration.get("max")
    if low is not None and amount < _bound(measure, low, "min"):
        raise _Invalid(f"it must be more than `{show(low)}`")
    if high is not None and amount > _bound(measure, high, "max"):
        raise _Invalid(f"it must be less than `{show(high)}`")


def _check_period(
    type_name: str,
    declaration: Mapping[str, Any],
    value: Any,
    key: Callable[[Any], Any],
    show: Callable[[Any], str],
) -> None:
    moment = key(value)
    after = _declared(type_name, declaration.get("after"))
    before = _declared(type_name, declaration.get("before"))
    if after is not None and moment < _bound(key, after, "after"):
        raise _Invalid(f"it must be after `{show(after)}`")
    if before is not None and moment > _bound(key, before, "before"):
        raise _Invalid(f"it must be before `{show(before)}`")


def _bound(convert: Callable[[Any], Any], bound: Any, name: str) -> Any:
    try:
        return convert(bound)
    except (_Invalid, ValueError, TypeError) as error:
        raise _Invalid(f"its declared `{name}` value `{_display(bound)}` is invalid") from error


def _number(type_name: str, value: Any) -> float:
    return _parse_int({}, value, None) if type_name == "INT" else _parse_float({}, value, None)


def _seconds(value: Any) -> float:
    if not isinstance(value, str):
        raise _Invalid("it must be an ISO-8601 duration such as `PT30S`, `PT1H30M` or `P1D`")
    try:
        return parse_duration(value)
    except ValueError as error:
        raise _Invalid("it must be an ISO-8601 duration such as `PT30S`, `PT1H30M` or `P1D`") from error


# ---------------------------------------------------------------------------------------------
# java.time equivalents: Instant, LocalDate, LocalTime with nanosecond precision

_INSTANT_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)$",
    re.IGNORECASE,
)
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT_HINT = "it must be an ISO-8601 instant such as `2024-01-01T00:00:00Z`"


def _instant(value: Any) -> tuple[dt.datetime, int]:
    """(UTC datetime without sub-second part, nanoseconds): Python datetimes stop at
    microseconds, Java Instants do not, and both the ordering and the printed form need them."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).replace(microsecond=0), value.microsecond * 1000
    match = _INSTANT_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise _Invalid(_INSTANT_HINT)
    day, hour, minute, second, fraction, zone = match.groups()
    offset = "+00:00" if zone.upper() == "Z" else zone
    try:
        moment = dt.datetime.fromisoformat(f"{day}T{hour}:{minute}:{second or '00'}{offset}")
    except ValueError as error:
        raise _Invalid(_INSTANT_HINT) from error
    return moment.astimezone(dt.UTC), int((fraction or "").ljust(9, "0"))


def instant_string(value: Any) -> Any:
    """A moment as Kestra shows it, in expressions and API answers alike: ``Instant.toString``
    (UTC, ``Z``, the fraction in groups of 3 digits, none when zero). Weir stores moments as
    ``isoformat()`` (fixed precision, so they sort as text); this is their outward form. Anything
    that is not a date-time with a zone is returned unchanged."""
    if isinstance(value, dt.datetime) or (isinstance(value, str) and "T" in value):
        try:
            return _format_instant(*_instant(value))
        except _Invalid:
            return value
    return value


def _format_instant(moment: dt.datetime, nanos: int) -> str:
    """``Instant.toString``: always seconds, the fraction in groups of 3 digits, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(nanos, groups=True) + "Z"


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid("it must be a date such as `2024-01-31`")


def _time(value: Any) -> tuple[dt.time, int]:
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None), value.microsecond * 1000
    match = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second, fraction = match.groups()
        try:
            return dt.time(int(hour), int(minute), int(second or 0)), int((fraction or "").ljust(9, "0"))
        except ValueError:
            pass
    raise _Invalid("it must be a time such as `13:45` or `13:45:30`")


def _format_time(moment: dt.time, nanos: int) -> str:
    """Jackson's ``ISO_LOCAL_TIME``: ``HH:mm:ss`` plus any non-zero fraction."""
    return moment.strftime("%H:%M:%S") + _fraction(nanos, groups=False)


def _fraction(nanos: int, *, groups: bool) -> str:
    if nanos == 0:
        return ""
    digits = f"{nanos:09d}"
    if not groups:
        return "." + digits.rstrip("0")
    if nanos % 1_000_000 == 0:
        return "." + digits[:3]
    if nanos % 1000 == 0:
        return "." + digits[:6]
    return "." + digits


# ---------------------------------------------------------------------------------------------
# Helpers


def _input_id(declaration: Mapping[str, Any]) -> str:
    """``name`` is the deprecated alias of ``id``."""
    return str(declaration.get("id") or declaration.get("name") or "")


def _required(declaration: Mapping[str, Any]) -> bool:
    """``required`` defaults to true; a raw mapping may still hold the string form."""
    required = declaration.get("required", True)
    return not (required is False or (isinstance(required, str) and required.strip().lower() == "false"))


def _type_name(declaration: Mapping[str, Any]) -> str:
    name = _upper(declaration.get("type"))
    return "BOOLEAN" if name == "BOOL" else name


def _upper(value: Any) -> str:
    return str(value).upper() if value is not None else ""


def _unique(declarations: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Declarations with distinct ids (the first wins); saving a flow rejects duplicates."""
    seen: set[str] = set()
    unique = []
    for declaration in declarations:
        input_id = _input_id(declaration)
        if input_id not in seen:
            seen.add(input_id)
            unique.append(declaration)
    return unique


def _nest(entries: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Dots in an id create nesting: ``nested.more.int`` is read as ``inputs.nested.more.int``."""
    result: dict[str, Any] = {}
    for input_id, value in entries:
        *parents, leaf = input_id.split(".")
        target = result
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[leaf] = value
    return result


def _message(input_id: str, type_name: str, problem: _Invalid, value: Any) -> str:
    """Kestra's phrasing, ``Invalid input for `id`, <constraint>, but received `value```; a SECRET's
    value is never echoed since messages end up in API responses and logs."""
    if type_name == "SECRET":
        return f"Invalid input for `{input_id}`, {problem.constraint}"
    return f"Invalid input for `{input_id}`, {problem.constraint}, but received `{_display(value)}`"


def _display(value: Any, limit: int = 200) -> str:
    """A value as Java would print it in a message, cut short so an 11 KiB input stays readable."""
    if isinstance(value, bytes | bytearray):
        shown = f"<{len(value)} bytes>"
    elif isinstance(value, list | tuple):
        shown = "[" + ", ".join(_display(item, limit) for item in value) + "]"
    else:
        shown = _text(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _json_safe(value: Any) -> Any:
    """Values YAML can produce but JSON cannot store: dates and times become ISO strings,
    tuples and sets lists, and mapping keys strings."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(item) for item in value]
    if isinstance(value, dt.datetime):
        return _format_instant(*_instant(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
