"""Value conventions shared by the whole catalog: undefined handling, Kestra's string output, JSON.

Output conversion (``finalize``/``to_text``) follows Kestra's string mode: null prints as nothing,
booleans as ``true``/``false``, maps and lists as compact JSON without null map values.

``pebble_filter`` wraps a filter with Pebble's conventions: an undefined input or argument fails
(strict variables), a null input gives null.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import TemplateRuntimeError

from .limits import check_size


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


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


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
    check_size(value)
    if not include_nulls:
        value = _without_null_values(value)
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except ValueError as error:  # e.g. NaN is valid Python but not JSON-serializable by Jackson either
        raise TemplateRuntimeError(f"Unable to serialize to JSON: {error}") from error


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


def to_java_string(value: Any) -> str:
    """``String.valueOf(value)``: like ``to_text`` but null is ``"null"`` (Java's string concatenation)."""
    return "null" if value is None else to_text(value)


def finalize(value: Any) -> Any:
    """Jinja ``finalize`` hook: Kestra string-mode output; undefined values pass through to fail."""
    if value is None or isinstance(value, bool | Mapping | list | tuple):
        return to_text(value)
    if callable(value) and not isinstance(value, Undefined):
        raise TemplateRuntimeError("a function or method can not be printed; call it with ()")
    return value


def pebble_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """Pebble's filter conventions: undefined input or argument fails, null input gives null."""

    @functools.wraps(function)
    def apply(value: Any, /, *args: Any, **kwargs: Any) -> Any:
        require_defined(value)
        for argument in (*args, *kwargs.values()):
            require_defined(argument)
        if value is None:
            return None
        return function(value, *args, **kwargs)

    return apply


def defined_arguments(function: Callable[..., Any]) -> Callable[..., Any]:
    """For functions (and filters that accept null): every argument must be defined."""

    @functools.wraps(function)
    def apply(*args: Any, **kwargs: Any) -> Any:
        for argument in (*args, *kwargs.values()):
            require_defined(argument)
        return function(*args, **kwargs)

    return apply


def expect_string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TemplateRuntimeError(f"{what} expects a string, got {type_name(value)}")
    return value


def expect_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise TemplateRuntimeError(f"{what} expects a number, got {type_name(value)}")
    return int(value)


def type_name(value: Any) -> str:
    """A short, user-facing type name for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if is_number(value):
        return "number"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__
