"""Data filters and functions: JSON/YAML/Ion, collections, numbers, ``jq``.

Serialization follows Kestra's Jackson mappers: ``toJson`` is compact JSON without null map values
(``includeNulls=true`` keeps them), ``yaml`` is block YAML with indented lists and double quotes only
where needed, ``toIon`` is compact Ion text. ``yaml()`` parses with a cap on aliases (a "billion
laughs" document is refused) and keeps timestamps as strings, like Jackson.

Collection filters keep Pebble's semantics: ``slice`` bounds are checked, ``split`` is in
``catalog_strings``, ``sort``/``rsort`` use natural ordering, ``merge`` concatenates lists and
updates maps, ``keys`` of a list are its indices. Every filter that builds a list or string checks
the size limits first.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any

import yaml
from jinja2 import Undefined
from jinja2.exceptions import TemplateRuntimeError, UndefinedError

from . import ion, jq
from .limits import MAX_REPEAT, check_length, check_size
from .values import (
    MapEntry,
    defined_arguments,
    expect_int,
    expect_string,
    is_number,
    pebble_filter,
    require_defined,
    to_java_string,
    to_json,
    type_name,
)

MAX_YAML_ALIASES = 100
"""Aliases ``yaml()`` accepts in one document (SnakeYAML's default limit for collections is 50)."""


def _check_items(count: int, what: str) -> None:
    if count > MAX_REPEAT:
        raise TemplateRuntimeError(f"{what} would build more than {MAX_REPEAT} items")


# -- JSON ---------------------------------------------------------------------------------------


def to_json_filter(value: Any, /, includeNulls: Any = False) -> str:
    """``toJson``; the camel-case argument name is Kestra's (``toJson(includeNulls=true)``)."""
    require_defined(value)
    if value is None:
        return "null"
    return to_json(value, bool(includeNulls))


def from_json(value: Any) -> Any:
    require_defined(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateRuntimeError("fromJson expects a string argument")
    check_length(len(value))
    try:
        return json.loads(value)
    except ValueError as exc:
        raise TemplateRuntimeError(f"Invalid json: {exc}") from exc


# -- YAML ---------------------------------------------------------------------------------------


class _YamlLoader(yaml.SafeLoader):
    """Safe loading with an alias budget; timestamps stay strings (as Jackson reads them)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"too many aliases (more than {MAX_YAML_ALIASES})")
        return super().compose_node(parent, index)  # type: ignore[no-untyped-call]


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_function(value: Any) -> Any:
    """``yaml(str)``: parse a YAML document."""
    require_defined(value)
    if not isinstance(value, str):
        raise TemplateRuntimeError("The 'yaml' function expects an argument 'yaml' with type string.")
    check_length(len(value))
    try:
        result = yaml.load(value, Loader=_YamlLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise TemplateRuntimeError(f"Invalid yaml: {error}") from None
    check_size(result)
    return result


class _YamlDumper(yaml.SafeDumper):
    """Jackson's YAML style: indented list items, double quotes only when a string needs quoting."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style: str = super().choose_scalar_style()  # type: ignore[no-untyped-call]
        return '"' if style == "'" else style


def _represent_as_string(dumper: yaml.SafeDumper, value: Any) -> yaml.Node:
    return dumper.represent_str(value.isoformat() if hasattr(value, "isoformat") else str(value))


_YamlDumper.add_representer(decimal.Decimal, lambda dumper, value: dumper.represent_float(float(value)))
_YamlDumper.add_representer(tuple, lambda dumper, value: dumper.represent_list(list(value)))
_YamlDumper.add_representer(MapEntry, lambda dumper, value: dumper.represent_dict({value.key: value.value}))
for _type in (datetime.datetime, datetime.date, datetime.time):
    _YamlDumper.add_representer(_type, _represent_as_string)


def yaml_filter(value: Any) -> str:
    """``| yaml``: the value as a YAML document (``"null"`` for null)."""
    require_defined(value)
    if value is None:
        return "null"
    check_size(value)
    try:
        text: str = yaml.dump(
            value,
            Dumper=_YamlDumper,
            default_flow_style=False,
            sort_keys=False,
            allow_unicode=True,
            width=2**30,
        )
    except yaml.YAMLError as error:
        raise TemplateRuntimeError(f"Unable to transform to yaml value of type {type_name(value)}") from error
    return text[: -len("...\n")] if text.endswith("\n...\n") else text


# -- Ion ----------------------------------------------------------------------------------------


def to_ion_filter(value: Any) -> str:
    require_defined(value)
    return "null" if value is None else ion.to_ion(value)


@defined_arguments
def from_ion(value: Any = None, allRows: Any = False) -> Any:
    """``fromIon(str, allRows=false)``: the first Ion value, or all of them as a list."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateRuntimeError("The 'fromIon' function expects an argument 'ion' with type string.")
    check_length(len(value))
    return ion.from_ion(value, bool(allRows))


# -- jq -----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Context values as JSON data (dates as strings, entries as maps), as Jackson's ``valueToTree``."""
    return json.loads(to_json(value, include_nulls=True))


@pebble_filter
def jq_filter(value: Any, /, expression: Any = None) -> list[Any]:
    """``jq(expression)``: every result of the jq program, always as a list (add ``| first``)."""
    program = expect_string(expression, "jq")
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError as error:
            raise TemplateRuntimeError(f"Unable to parse jq value '{value[:100]}': {error}") from None
    else:
        data = _plain(value)
    return jq.run(program, data)


# -- collections --------------------------------------------------------------------------------


def _sequence(value: Any, name: str) -> list[Any] | tuple[Any, ...]:
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, set | frozenset):
        return list(value)
    raise TemplateRuntimeError(f"'{name}' filter can only be applied to lists, got {type_name(value)}")


@pebble_filter
def chunk(value: Any, /, size: Any = None) -> list[list[Any]]:
    items = _sequence(value, "chunk")
    if size is None:
        raise TemplateRuntimeError("'chunk' filter expects an argument 'size'.")
    step = expect_int(size, "chunk")
    if step <= 0:
        raise TemplateRuntimeError("'chunk' filter argument 'size' must be greater than 0")
    return [list(items[start : start + step]) for start in range(0, len(items), step)]


@pebble_filter
def flatten(value: Any) -> list[Any]:
    result: list[Any] = []
    for item in _sequence(value, "flatten"):
        if isinstance(item, list | tuple):
            result.extend(item)
        else:
            result.append(item)
        _check_items(len(result), "flatten")
    return result


@pebble_filter
def keys(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.keys())
    if isinstance(value, list | tuple):
        return list(range(len(value)))
    raise TemplateRuntimeError(
        f"'keys' filter can only be applied to List, Map, Array, got {type_name(value)}"
    )


@pebble_filter
def values(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    raise TemplateRuntimeError(f"'values' filter can only be applied to Map, got {type_name(value)}")


@pebble_filter
def merge(value: Any, /, items: Any = None) -> Any:
    """Pebble's ``merge``: list + list/map entries, or map + map (the argument wins)."""
    if isinstance(value, Mapping):
        if not isinstance(items, Mapping):
            raise TemplateRuntimeError("merge: a map can only be merged with a map")
        _check_items(len(value) + len(items), "merge")
        return {**value, **items}
    if isinstance(value, list | tuple):
        if isinstance(items, Mapping):
            extra: list[Any] = [MapEntry(key, item) for key, item in items.items()]
        elif isinstance(items, list | tuple | set | frozenset):
            extra = list(items)
        else:
            raise TemplateRuntimeError(f"merge: can not merge a list with {type_name(items)}")
        _check_items(len(value) + len(extra), "merge")
        return [*value, *extra]
    raise TemplateRuntimeError(f"merge: the value must be a list or a map, got {type_name(value)}")


@pebble_filter
def reverse(value: Any) -> Any:
    if isinstance(value, str):
        return value[::-1]
    return list(reversed(_sequence(value, "reverse")))


def _sorted(value: Any, name: str, descending: bool) -> list[Any]:
    items = _sequence(value, name)
    try:
        return sorted(items, reverse=descending)
    except TypeError:
        raise TemplateRuntimeError(f"'{name}' can only sort values of the same comparable type") from None


@pebble_filter
def sort(value: Any) -> list[Any]:
    return _sorted(value, "sort", False)


@pebble_filter
def rsort(value: Any) -> list[Any]:
    return _sorted(value, "rsort", True)


@pebble_filter
def slice_filter(value: Any, /, fromIndex: Any = None, toIndex: Any = None) -> Any:
    """Pebble's ``slice(fromIndex=0, toIndex=length)`` on a list or a string (end excluded)."""
    if not isinstance(value, str | list | tuple):
        raise TemplateRuntimeError(f"slice: can only slice lists and strings, got {type_name(value)}")
    start = 0 if fromIndex is None else expect_int(fromIndex, "slice")
    end = len(value) if toIndex is None else expect_int(toIndex, "slice")
    if start < 0:
        raise TemplateRuntimeError("slice: fromIndex must be greater than or equal to 0")
    if end > len(value):
        raise TemplateRuntimeError("slice: toIndex must be smaller than or equal to the length")
    if start > end:
        raise TemplateRuntimeError("slice: toIndex must be greater than or equal to fromIndex")
    return value[start:end] if isinstance(value, str) else list(value[start:end])


@pebble_filter
def join(value: Any, /, separator: Any = None) -> str:
    """Pebble's ``join(separator)``: items as Java strings (null is ``"null"``)."""
    if isinstance(value, Mapping | str) or not isinstance(value, Iterable):
        raise TemplateRuntimeError(f"join: can only join lists, got {type_name(value)}")
    glue = "" if separator is None else to_java_string(separator)
    parts = [to_java_string(item) for item in value]
    check_length(sum(map(len, parts)) + len(glue) * max(len(parts) - 1, 0))
    return glue.join(parts)


def length(value: Any) -> int:
    """Pebble's ``length``: characters, items or entries; 0 for null and for anything else."""
    require_defined(value)
    return len(value) if isinstance(value, Sized) else 0


def first(value: Any) -> Any:
    require_defined(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value[:1] or None
    return next(iter(value), None)


def last(value: Any) -> Any:
    require_defined(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value[-1:] or None
    if isinstance(value, list | tuple):
        return value[-1] if value else None
    items = list(value)
    return items[-1] if items else None


def is_empty(value: Any) -> bool:
    """Pebble's ``empty`` test: null, a blank string, an empty collection or map."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Sized):
        return len(value) == 0
    return False


def default_filter(value: Any, /, default: Any = None) -> Any:
    """``value | default(x)``: ``x`` when the value is undefined, null or empty (Pebble's EmptyTest)."""
    if isinstance(value, Undefined) or is_empty(value):
        require_defined(default)
        return default
    return value


def default_coalesce(value: Callable[[], Any], default: Callable[[], Any]) -> Any:
    """The translated ``value | default(x)``: an undefined variable *inside* ``value`` also falls back,
    as Pebble's ``FilterExpression`` catches its strict-variables error for this one filter."""
    try:
        result = value()
    except UndefinedError:
        return default()
    return default_filter(result, default())


# -- numbers ------------------------------------------------------------------------------------

_JAVA_CLASSES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "java.lang.Boolean"),
    (int, "java.lang.Long"),
    (float, "java.lang.Double"),
    (decimal.Decimal, "java.math.BigDecimal"),
    (str, "java.lang.String"),
    (Mapping, "java.util.LinkedHashMap"),
    ((list, tuple), "java.util.ArrayList"),
    ((set, frozenset), "java.util.HashSet"),
    (datetime.datetime, "java.time.ZonedDateTime"),
    (datetime.date, "java.time.LocalDate"),
    (MapEntry, "java.util.Map$Entry"),
)


@pebble_filter
def class_name(value: Any) -> str:
    """The Java class Kestra would report for the value (``java.lang.String``, ``java.lang.Long``…)."""
    for kind, name in _JAVA_CLASSES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


_INT_RANGES = {"INT": 2**31, "LONG": 2**63}
_DECIMAL_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?")


def _parse_integer(text: str, kind: str) -> int:
    body = text.strip()
    if body[-1:] in ("l", "L") and kind in ("", "LONG", "BIGINTEGER"):
        body = body[:-1]
    sign = -1 if body.startswith("-") else 1
    digits = body.lstrip("+-")
    if digits.lower().startswith(("0x", "#")):
        number = sign * int(digits.split("x", 1)[-1].split("X", 1)[-1].lstrip("#"), 16)
    else:
        number = sign * int(digits, 10)
    limit = _INT_RANGES.get(kind)
    if limit is not None and not -limit <= number < limit:
        raise ValueError(f"out of range for {kind}")
    return number


def _parse_number(text: str, kind: str) -> Any:
    if kind in ("INT", "LONG", "BIGINTEGER"):
        return _parse_integer(text, kind)
    if kind in ("FLOAT", "DOUBLE"):
        if not _DECIMAL_NUMBER.fullmatch(text.strip()):
            raise ValueError("not a decimal number")
        return float(text.strip().rstrip("fFdD"))
    if kind == "BIGDECIMAL":
        return decimal.Decimal(text.strip())
    # NumberUtils.createNumber: an integer if it is one, else a floating-point number
    try:
        return _parse_integer(text, "")
    except ValueError:
        if not _DECIMAL_NUMBER.fullmatch(text.strip()):
            raise
        return float(text.strip().rstrip("fFdD"))


_NUMBER_TYPES = ("INT", "LONG", "FLOAT", "DOUBLE", "BIGDECIMAL", "BIGINTEGER")


@pebble_filter
def number(value: Any, /, type: Any = None) -> Any:
    """``number(type?)``: parse a string to INT, LONG, FLOAT, DOUBLE, BIGDECIMAL or BIGINTEGER (or guess)."""
    kind = "" if type is None else str(type).upper()
    if kind and kind not in _NUMBER_TYPES:
        raise TemplateRuntimeError(
            f"number: unknown type '{type}' (expected one of {', '.join(_NUMBER_TYPES)})"
        )
    if is_number(value):
        value = str(value)
    if not isinstance(value, str):
        raise TemplateRuntimeError(f"'number' filter can only be applied to String, got {type_name(value)}")
    if len(value) > 1000:
        raise TemplateRuntimeError("number: the string is too long to be a number")
    try:
        return _parse_number(value, kind)
    except (ValueError, ArithmeticError, IndexError):
        raise TemplateRuntimeError(f"number: '{value}' is not a valid {kind or 'number'}") from None


@pebble_filter
def abs_filter(value: Any) -> Any:
    if not is_number(value):
        raise TemplateRuntimeError(f"abs can only be applied to numbers, got {type_name(value)}")
    return abs(value)


def _decimal_format_parts(pattern: str) -> tuple[str, str, str, str]:
    """Split a DecimalFormat pattern into prefix, integer part, fraction part, suffix."""
    positive = pattern.split(";", 1)[0]
    match = re.search(r"[#0,]+(?:\.[#0]*)?|\.[#0]+", positive)
    if match is None:
        raise TemplateRuntimeError(f"numberFormat: malformed pattern '{pattern}'")
    number_part = match.group()
    integer, _, fraction = number_part.partition(".")
    prefix, suffix = positive[: match.start()], positive[match.end() :]
    return prefix.replace("'", ""), integer, fraction, suffix.replace("'", "")


def _group(digits: str, size: int) -> str:
    if size <= 0:
        return digits
    groups: list[str] = []
    while len(digits) > size:
        groups.insert(0, digits[-size:])
        digits = digits[:-size]
    groups.insert(0, digits)
    return ",".join(groups)


def decimal_format(value: Any, pattern: str) -> str:
    """``java.text.DecimalFormat(pattern).format(value)`` for the usual patterns (HALF_EVEN rounding)."""
    prefix, integer, fraction, suffix = _decimal_format_parts(pattern)
    number_value = decimal.Decimal(value) if not isinstance(value, decimal.Decimal) else value
    if not number_value.is_finite():
        return "NaN" if number_value.is_nan() else ("-" if number_value < 0 else "") + "∞"
    for marker, factor in (("%", 100), ("‰", 1000)):
        if marker in prefix + suffix:
            number_value *= factor
    min_integer = integer.count("0")
    max_fraction, min_fraction = len(fraction), fraction.count("0")
    group_size = len(integer) - integer.rfind(",") - 1 if "," in integer else 0
    rounded = number_value.quantize(
        decimal.Decimal(1).scaleb(-max_fraction), rounding=decimal.ROUND_HALF_EVEN
    )
    negative = rounded.is_signed() and rounded != 0
    text = f"{abs(rounded):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    frac = frac.ljust(min_fraction, "0")
    whole = whole.lstrip("0").rjust(min_integer, "0")
    body = _group(whole, group_size) + ("." + frac if frac else "")
    return ("-" if negative else "") + prefix + body + suffix


@pebble_filter
def number_format(value: Any, /, format: Any = None) -> str:
    """Pebble's ``numberformat``: a ``DecimalFormat`` pattern such as ``#,##0.00`` (default ``#,##0.###``)."""
    if not is_number(value):
        raise TemplateRuntimeError(f"numberFormat can only be applied to numbers, got {type_name(value)}")
    pattern = "#,##0.###" if format is None else expect_string(format, "numberFormat")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "∞"
    return decimal_format(value, pattern)


FILTERS: dict[str, Callable[..., Any]] = {
    "toJson": to_json_filter,
    "json": to_json_filter,  # deprecated Kestra alias of toJson
    "yaml": yaml_filter,
    "toIon": to_ion_filter,
    "jq": jq_filter,
    "chunk": chunk,
    "flatten": flatten,
    "keys": keys,
    "values": values,
    "merge": merge,
    "reverse": reverse,
    "sort": sort,
    "rsort": rsort,
    "slice": slice_filter,
    "join": join,
    "length": length,
    "first": first,
    "last": last,
    "default": default_filter,
    "className": class_name,
    "number": number,
    "abs": abs_filter,
    "numberFormat": number_format,
    "numberformat": number_format,  # Pebble's own (lower-case) name
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "fromJson": from_json,
    "json": from_json,  # deprecated Kestra alias of fromJson
    "yaml": yaml_function,
    "fromIon": from_ion,
}
