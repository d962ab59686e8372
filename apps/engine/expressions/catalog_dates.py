"""Kestra's date function and filters: ``now()``, ``date``, ``dateAdd``, ``timestamp*``.

Arguments and defaults are those of Kestra's ``AbstractDate``: ``format`` (default ``iso``, i.e.
``yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX``), ``timeZone`` (default: Weir's ``UTC``, where Kestra uses the
JVM's zone), ``existingFormat`` (how to parse a string input) and ``locale`` (accepted; names are
always English). Inputs may be ISO strings, ``datetime``/``date`` values or epoch seconds. Results
are strings, except ``timestamp`` (a number), as in Kestra. See ``javatime`` for the details.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

from .javatime import Moment, epoch_nanos, format_moment, plus, to_moment, zone_of
from .values import defined_arguments, pebble_filter

_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[_-][A-Za-z0-9]{2,8}){0,3}")


def _format(format: Any) -> str:
    if format is None:
        return "iso"
    if not isinstance(format, str):
        raise TemplateRuntimeError("the date format must be a string")
    return format


def _check_locale(locale: Any) -> None:
    if locale is not None and not (isinstance(locale, str) and _LOCALE.fullmatch(locale)):
        raise TemplateRuntimeError(f"invalid locale: {locale}")


def _moment(value: Any, timeZone: Any, existingFormat: Any) -> Moment:
    return to_moment(value, zone_of(timeZone), existingFormat)


@defined_arguments
def now(format: Any = None, timeZone: Any = None, existingFormat: Any = None, locale: Any = None) -> str:
    """The current time as a formatted string (``now()`` is a string in Kestra, never a date)."""
    _check_locale(locale)
    zone = zone_of(timeZone)
    return format_moment(Moment.of(datetime.datetime.now(zone.tz), zone), _format(format))


@pebble_filter
def date(
    value: Any, /, format: Any = None, timeZone: Any = None, existingFormat: Any = None, locale: Any = None
) -> str:
    _check_locale(locale)
    return format_moment(_moment(value, timeZone, existingFormat), _format(format))


@pebble_filter
def date_add(
    value: Any,
    /,
    amount: Any = None,
    unit: Any = None,
    format: Any = None,
    timeZone: Any = None,
    existingFormat: Any = None,
    locale: Any = None,
) -> str:
    """``dateAdd(amount, unit)``: ``unit`` is a ``ChronoUnit`` name (``DAYS``, ``HOURS``, ``MONTHS``…)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TemplateRuntimeError("dateAdd expects an integer 'amount'")
    if not isinstance(unit, str):
        raise TemplateRuntimeError("dateAdd expects a 'unit' such as 'DAYS' or 'HOURS'")
    _check_locale(locale)
    moment = plus(_moment(value, timeZone, existingFormat), amount, unit)
    return format_moment(moment, _format(format))


@pebble_filter
def timestamp(value: Any, /, timeZone: Any = None, existingFormat: Any = None) -> int:
    """Epoch seconds (a number)."""
    return _moment(value, timeZone, existingFormat).epoch_second()


@pebble_filter
def timestamp_micro(value: Any, /, timeZone: Any = None, existingFormat: Any = None) -> str:
    """Epoch microseconds, as a string like Kestra's."""
    return str(epoch_nanos(_moment(value, timeZone, existingFormat)) // 1000)


@pebble_filter
def timestamp_nano(value: Any, /, timeZone: Any = None, existingFormat: Any = None) -> str:
    """Epoch nanoseconds, as a string like Kestra's."""
    return str(epoch_nanos(_moment(value, timeZone, existingFormat)))


FUNCTIONS: dict[str, Callable[..., Any]] = {"now": now}
FILTERS: dict[str, Callable[..., Any]] = {
    "date": date,
    "dateAdd": date_add,
    "timestamp": timestamp,
    "timestampMicro": timestamp_micro,
    "timestampNano": timestamp_nano,
}
