"""Runtime helpers behind the translator's ``__weir_*`` calls, and Kestra's filter/function/test catalog.

The helpers reproduce Pebble/Kestra semantics Jinja lacks (null-skipping concatenation, Java integer
division, ``contains``, inclusive ranges, map iteration as entries, coalescing that catches undefined
values). Output conversion (``finalize``/``to_text``) follows Kestra's string mode: null prints as
nothing, booleans as ``true``/``false``, maps and lists as compact JSON without null map values.

``FILTERS``, ``FUNCTIONS`` and ``TESTS`` are the only names templates can reach: the environment
starts from these dicts instead of Jinja's built-ins (``| int``, ``map('x')``, ``tojson`` are not
Pebble). Only a handful of pure entries exist so far; the full Kestra catalog (``date``, ``jq``,
``secret``, ``kv``, ``render``…) is added here by a later change.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import TemplateRuntimeError, UndefinedError

MAX_RANGE = 100_000
"""Largest list ``a..b`` / ``range()`` may build (the Jinja sandbox's own limit)."""


@dataclass(frozen=True, slots=True)
class MapEntry:
    """What ``{% for e in map %}`` binds, as in Pebble (a Java ``Map.Entry``): ``e.key``, ``e.value``."""

    key: Any
    value: Any

    def __str__(self) -> str:
        return f"{to_text(self.key)}={to_text(self.value)}"


def require_defined(value: Any) -> None:
    """Raise the pending UndefinedError if ``value`` is undefined (Pebble fails on any use of one)."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()


# -- output conversion --------------------------------------------------------------------------


def _without_null_values(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _without_null_values(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_without_null_values(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    require_defined(value)
    if isinstance(value, MapEntry):
        return {to_text(value.key): value.value}
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


def to_json(value: Any, include_nulls: bool = False) -> str:
    """Compact JSON as Kestra's Jackson mapper writes it (null map values dropped by default)."""
    require_defined(value)
    if not include_nulls:
        value = _without_null_values(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def to_text(value: Any) -> str:
    """The string Kestra writes for ``value`` in string mode."""
    require_defined(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return to_json(value)
    return str(value)


def finalize(value: Any) -> Any:
    """Jinja ``finalize`` hook: Kestra string-mode output; undefined values pass through to fail."""
    if value is None or isinstance(value, bool | Mapping | list | tuple):
        return to_text(value)
    return value


# -- helpers the translator emits ---------------------------------------------------------------


def _coalesce(left: Callable[[], Any], right: Callable[[], Any], nulls_fall_back: bool) -> Any:
    try:
        value = left()
    except UndefinedError:
        return right()
    if isinstance(value, Undefined) or (nulls_fall_back and value is None):
        return right()
    return value


def null_coalesce(left: Callable[[], Any], right: Callable[[], Any]) -> Any:
    """``a ?? b``: ``b`` when ``a`` is undefined (anywhere inside it) or null."""
    return _coalesce(left, right, True)


def undefined_coalesce(left: Callable[[], Any], right: Callable[[], Any]) -> Any:
    """``a ??? b``: ``b`` only when ``a`` is undefined; a null ``a`` stays null."""
    return _coalesce(left, right, False)


def is_defined(subject: Callable[[], Any]) -> bool:
    """``x is defined`` (Pebble's DefinedTest): false when ``x`` is undefined or null, never raises."""
    try:
        value = subject()
    except UndefinedError:
        return False
    return not isinstance(value, Undefined) and value is not None


def concat(*parts: Any) -> str:
    """``a ~ b`` and ``"#{…}"`` interpolation: null parts contribute nothing, as in Pebble."""
    return "".join(to_text(part) for part in parts)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def divide(left: Any, right: Any) -> Any:
    """``a / b``: integer operands give Java's truncated integer quotient (``7 / 2`` is ``3``)."""
    require_defined(left)
    require_defined(right)
    if _is_integer(left) and _is_integer(right):
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    return left / right


def modulo(left: Any, right: Any) -> Any:
    """``a % b`` with Java's sign rule (the result has the sign of ``a``)."""
    require_defined(left)
    require_defined(right)
    if _is_integer(left) and _is_integer(right):
        return left - right * divide(left, right)
    return math.fmod(left, right)


def contains(container: Any, item: Any) -> bool:
    """``a contains b`` as Pebble's ContainsExpression (collections check all items of a list)."""
    require_defined(container)
    if container is None:
        return False
    require_defined(item)
    if isinstance(container, Mapping):
        return item in container
    if isinstance(container, str):
        return ("null" if item is None else to_text(item)) in container
    if isinstance(container, list | tuple | set | frozenset):
        if isinstance(item, list | tuple | set | frozenset):
            return all(element in container for element in item)
        return item in container
    raise TemplateRuntimeError(
        f"contains operator can only be used on lists, maps and strings, got {type(container).__name__}"
    )


def pebble_range(start: Any, end: Any, increment: Any = 1) -> list[Any]:
    """Pebble's inclusive ``range(start, end, increment)`` (and ``start..end``), over numbers or chars."""
    for value in (start, end, increment):
        require_defined(value)
    if not isinstance(increment, int | float) or isinstance(increment, bool) or int(increment) == 0:
        raise TemplateRuntimeError("the increment of range must be a non-zero number")
    step = int(increment)
    if isinstance(start, str) and isinstance(end, str) and len(start) == len(end) == 1:
        first, last, as_char = ord(start), ord(end), True
    elif isinstance(start, int | float) and isinstance(end, int | float):
        first, last, as_char = int(start), int(end), False
    else:
        raise TemplateRuntimeError("range bounds must be numbers or one-character strings")
    stop = last + (1 if step > 0 else -1)
    if len(range(first, stop, step)) > MAX_RANGE:
        raise OverflowError(f"range too big: more than {MAX_RANGE} items")
    values = range(first, stop, step)
    return [chr(value) for value in values] if as_char else list(values)


def iterate(value: Any) -> Any:
    """The iterable of ``{% for %}``: maps become entries, null becomes empty (Pebble's ForNode)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return [MapEntry(key, item) for key, item in value.items()]
    return value


# -- catalog ------------------------------------------------------------------------------------


def _none_safe(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a one-argument filter: undefined input fails, null input gives null (Pebble convention)."""

    def apply(value: Any) -> Any:
        require_defined(value)
        return None if value is None else function(value)

    apply.__name__ = function.__name__
    return apply


def to_json_filter(value: Any, includeNulls: bool = False) -> str:
    """``toJson``; the camel-case argument name is Kestra's (``toJson(includeNulls=true)``)."""
    if value is None:
        return "null"
    return to_json(value, includeNulls)


def from_json(value: Any) -> Any:
    require_defined(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateRuntimeError("fromJson expects a string argument")
    try:
        return json.loads(value)
    except ValueError as exc:
        raise TemplateRuntimeError(f"Invalid json: {exc}") from exc


def _length(value: Any) -> int:
    require_defined(value)
    return 0 if value is None else len(value)


def _first(value: Any) -> Any:
    return next(iter(value), None)


def _last(value: Any) -> Any:
    items = list(value)
    return items[-1] if items else None


def _strict_test(predicate: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        require_defined(value)
        return predicate(value)

    return test


def _is_json(value: Any) -> bool:
    if isinstance(value, Mapping | list):
        return True
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, Iterable | Mapping) and not any(True for _ in value)


FILTERS: dict[str, Callable[..., Any]] = {
    "toJson": to_json_filter,
    "json": to_json_filter,  # deprecated Kestra alias of toJson
    "upper": _none_safe(str.upper),
    "lower": _none_safe(str.lower),
    "trim": _none_safe(str.strip),
    "length": _length,
    "first": _none_safe(_first),
    "last": _none_safe(_last),
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "fromJson": from_json,
    "json": from_json,  # deprecated Kestra alias of fromJson
    "range": pebble_range,
}

TESTS: dict[str, Callable[..., bool]] = {
    "json": _strict_test(_is_json),
    "null": _strict_test(lambda value: value is None),
    "empty": _strict_test(_is_empty),
    "even": _strict_test(lambda value: int(value) % 2 == 0),
    "odd": _strict_test(lambda value: int(value) % 2 == 1),
    "iterable": _strict_test(lambda value: isinstance(value, list | tuple | set | frozenset)),
    "map": _strict_test(lambda value: isinstance(value, Mapping)),
    # ``x is defined`` is translated to a lenient helper; this entry serves raw Jinja callers.
    "defined": lambda value: not isinstance(value, Undefined) and value is not None,
}
