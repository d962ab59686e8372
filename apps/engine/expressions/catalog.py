"""Runtime helpers behind the translator's ``__weir_*`` calls, and Kestra's filter/function/test catalog.

The helpers reproduce Pebble/Kestra semantics Jinja lacks (null-skipping concatenation, Java integer
division, ``contains``, inclusive ranges, map iteration as entries, coalescing that catches undefined
values, ``| default`` that also catches them). Output conversion lives in ``values``.

``FILTERS``, ``FUNCTIONS`` and ``TESTS`` are the only names templates can reach: the environment
starts from these dicts instead of Jinja's built-ins (``| int``, ``map('x')``, ``tojson`` are not
Pebble). They hold every function, filter and test of KESTRA.md §6.3-6.4, implemented in
``catalog_dates``, ``catalog_strings``, ``catalog_data`` (with ``jq`` and ``ion``) and
``catalog_functions`` (host services through ``runtime``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import TemplateRuntimeError, UndefinedError

from . import catalog_data, catalog_dates, catalog_functions, catalog_strings
from .errors import ExpressionLimitError
from .limits import MAX_RANGE, check_deadline, check_length
from .values import MapEntry, finalize, require_defined, to_json, to_text

__all__ = [
    "FILTERS",
    "FUNCTIONS",
    "MAX_RANGE",
    "TESTS",
    "MapEntry",
    "concat",
    "contains",
    "default_coalesce",
    "divide",
    "finalize",
    "is_defined",
    "iterate",
    "modulo",
    "null_coalesce",
    "pebble_range",
    "require_defined",
    "to_json",
    "to_text",
    "undefined_coalesce",
]

default_coalesce = catalog_data.default_coalesce


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
    texts = [to_text(part) for part in parts]
    check_length(sum(map(len, texts)))
    return "".join(texts)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(operator: str, left: Any, right: Any) -> None:
    require_defined(left)
    require_defined(right)
    for value in (left, right):
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise TemplateRuntimeError(f"the '{operator}' operator needs numbers, got {_describe(value)}")
    if right == 0 and _is_integer(right):
        raise TemplateRuntimeError("/ by zero")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return {str: "a string", bool: "a boolean"}.get(type(value), f"a {type(value).__name__}")


def divide(left: Any, right: Any) -> Any:
    """``a / b``: integer operands give Java's truncated integer quotient (``7 / 2`` is ``3``)."""
    _numbers("/", left, right)
    if _is_integer(left) and _is_integer(right):
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if right == 0:  # Java doubles: x / 0.0 is Infinity or NaN
        return (
            math.nan
            if left == 0 or math.isnan(left)
            else math.copysign(math.inf, left) * math.copysign(1, right)
        )
    return left / right


def modulo(left: Any, right: Any) -> Any:
    """``a % b`` with Java's sign rule (the result has the sign of ``a``)."""
    _numbers("%", left, right)
    if _is_integer(left) and _is_integer(right):
        return left - right * divide(left, right)
    return math.nan if right == 0 else math.fmod(left, right)


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


def range_too_big() -> ExpressionLimitError:
    return ExpressionLimitError(
        f"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MAX_RANGE})."
    )


def pebble_range(start: Any, end: Any = None, increment: Any = 1) -> list[Any]:
    """Pebble's inclusive ``range(start, end, increment)`` (and ``start..end``), over numbers or chars."""
    for value in (start, end, increment):
        require_defined(value)
    check_deadline()
    if end is None:  # Pebble needs both bounds; still name the limit for `range(10**9)`
        if isinstance(start, int) and not isinstance(start, bool) and abs(start) > MAX_RANGE:
            raise range_too_big()
        raise TemplateRuntimeError("The 'range' function expects the arguments 'start' and 'end'")
    if not isinstance(increment, int | float) or isinstance(increment, bool) or int(increment) == 0:
        raise TemplateRuntimeError("the increment of range must be a non-zero number")
    step = int(increment)
    if isinstance(start, str) and isinstance(end, str) and len(start) == len(end) == 1:
        first, last, as_char = ord(start), ord(end), True
    elif all(isinstance(bound, int | float) and not isinstance(bound, bool) for bound in (start, end)):
        if any(isinstance(bound, float) and not math.isfinite(bound) for bound in (start, end)):
            raise TemplateRuntimeError("range bounds must be finite numbers")
        first, last, as_char = int(start), int(end), False
    else:
        raise TemplateRuntimeError("range bounds must be numbers or one-character strings")
    stop = last + (1 if step > 0 else -1)
    values = range(first, stop, step)
    if len(values) > MAX_RANGE:
        raise range_too_big()
    return [chr(value) for value in values] if as_char else list(values)


class TimedItems:
    """What ``{% for %}`` iterates: the items, checking the render clock before each one."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            check_deadline()
            yield item


def iterate(value: Any) -> Any:
    """The iterable of ``{% for %}``: maps become entries, null becomes empty (Pebble's ForNode)."""
    check_deadline()
    if value is None:
        return ()
    if isinstance(value, Undefined):
        return value  # iterating it raises the pending UndefinedError
    if isinstance(value, Mapping):
        return TimedItems([MapEntry(key, item) for key, item in value.items()])
    if isinstance(value, Sequence):
        return TimedItems(value)
    if isinstance(value, Iterable):
        return TimedItems(list(value))
    raise TemplateRuntimeError(f"can not iterate over {_describe(value)}")


# -- tests --------------------------------------------------------------------------------------


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


def _parity(remainder: int) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise TemplateRuntimeError(f"even/odd tests need a number, got {_describe(value)}")
        return int(value) % 2 == remainder

    return test


FILTERS: dict[str, Callable[..., Any]] = {
    **catalog_strings.FILTERS,
    **catalog_data.FILTERS,
    **catalog_dates.FILTERS,
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    **catalog_data.FUNCTIONS,
    **catalog_dates.FUNCTIONS,
    **catalog_functions.FUNCTIONS,
    "range": pebble_range,
}

TESTS: dict[str, Callable[..., bool]] = {
    "json": _strict_test(_is_json),
    "null": _strict_test(lambda value: value is None),
    "empty": _strict_test(catalog_data.is_empty),
    "even": _strict_test(_parity(0)),
    "odd": _strict_test(_parity(1)),
    "iterable": _strict_test(lambda value: isinstance(value, list | tuple | set | frozenset)),
    "map": _strict_test(lambda value: isinstance(value, Mapping)),
    # ``x is defined`` is translated to a lenient helper; this entry serves raw Jinja callers.
    "defined": lambda value: not isinstance(value, Undefined) and value is not None,
}
