"""Java ``java.time`` behaviour for Kestra's date functions: zone ids, patterns, named formats, parsing.

* ``zone_of`` follows ``ZoneId.of``: region ids (``Europe/Paris``, ``UTC``), offsets (``Z``,
  ``+01:00``) and prefixed offsets (``UTC+01:00``). Without a time zone Kestra uses the JVM's default
  zone; Weir's default is ``UTC`` (``DEFAULT_ZONE``) so results do not depend on the host.
* ``format_moment`` implements ``DateTimeFormatter.ofPattern`` letters (``yyyy-MM-dd HH:mm:ss.SSS``,
  ``EEEE``, ``MMM``, ``XXX``, ``VV``, quoted literals…) and the named formats of Kestra's
  ``AbstractDate`` (``iso``, ``sql``, ``iso_date_time``, ``rfc_1123_date_time``, ``full``…), with the
  English (``en_US``) texts; other locales get the same English names.
* ``parse_moment`` reads ISO strings (``ZonedDateTime.parse``; leniently, a missing offset means the
  target zone) or strings in an ``existingFormat`` pattern.
* A date without a time is taken at noon, as Kestra does for ``LocalDate`` values.

A ``Moment`` carries nanoseconds next to the (microsecond) ``datetime``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2.exceptions import TemplateRuntimeError

Token = str | tuple[str, int]

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_QUARTERS = ("1st quarter", "2nd quarter", "3rd quarter", "4th quarter")
_ZONE_NAMES = {
    "UTC": "Coordinated Universal Time",
    "Etc/UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "Etc/GMT": "Greenwich Mean Time",
}
_NANOS_PER_SECOND = 1_000_000_000


class DateError(TemplateRuntimeError):
    """A bad pattern, zone, unit or date string."""


@dataclass(frozen=True, slots=True)
class Zone:
    """A Java ``ZoneId``: its id text, the tzinfo, and whether it is a region (not a bare offset)."""

    id: str
    tz: datetime.tzinfo
    region: bool


DEFAULT_ZONE = Zone("UTC", datetime.UTC, True)


@dataclass(frozen=True, slots=True)
class Moment:
    """A zoned date-time with nanosecond precision (``dt.microsecond == nano // 1000``)."""

    dt: datetime.datetime
    nano: int
    zone: Zone

    def in_zone(self, zone: Zone) -> Moment:
        return Moment(self.dt.astimezone(zone.tz), self.nano, zone)

    def epoch_second(self) -> int:
        delta = self.dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        return delta.days * 86_400 + delta.seconds

    @staticmethod
    def of(dt: datetime.datetime, zone: Zone, nano: int | None = None) -> Moment:
        nano = dt.microsecond * 1000 if nano is None else nano
        return Moment(dt.replace(microsecond=nano // 1000), nano, zone)


# -- zones --------------------------------------------------------------------------------------

_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")
_REGION = re.compile(r"[A-Za-z][A-Za-z0-9~._+\-]*(?:/[A-Za-z0-9~._+\-]+)*")


def offset_id(seconds: int) -> str:
    """``ZoneOffset.getId()``: ``Z``, ``+01:00``, ``-05:30``, ``+01:00:30``."""
    if seconds == 0:
        return "Z"
    sign = "+" if seconds > 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


def _parse_offset(text: str) -> int | None:
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.group(2, 3, 4))
    if hours > 18 or minutes > 59 or seconds > 59:
        return None
    total = hours * 3600 + minutes * 60 + seconds
    return -total if match.group(1) == "-" else total


@lru_cache(maxsize=256)
def zone_of(text: str | None) -> Zone:
    """``ZoneId.of(text)``; ``None`` is ``DEFAULT_ZONE``."""
    if text is None:
        return DEFAULT_ZONE
    if not isinstance(text, str):
        raise DateError(f"timeZone must be a string, got {type(text).__name__}")
    if text == "Z":
        return Zone("Z", datetime.UTC, False)
    if text[:1] in "+-":
        seconds = _parse_offset(text)
        if seconds is None:
            raise DateError(f"Invalid ID for ZoneOffset, invalid format: {text}")
        return Zone(offset_id(seconds), datetime.timezone(datetime.timedelta(seconds=seconds)), False)
    for prefix in ("UTC", "GMT", "UT"):
        if text == prefix:
            return Zone(prefix, datetime.UTC, True)
        if text.startswith(prefix) and text[len(prefix) : len(prefix) + 1] in ("+", "-"):
            seconds = _parse_offset(text[len(prefix) :])
            if seconds is None:
                raise DateError(f"Invalid ID for offset-based ZoneId: {text}")
            if seconds == 0:
                return Zone(prefix, datetime.UTC, True)
            tz = datetime.timezone(datetime.timedelta(seconds=seconds))
            return Zone(prefix + offset_id(seconds), tz, True)
    if len(text) > 64 or _REGION.fullmatch(text) is None or ".." in text:
        raise DateError(f"Invalid ID for region-based ZoneId, invalid format: {text}")
    try:
        return Zone(text, ZoneInfo(text), True)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise DateError(f"Unknown time-zone ID: {text}") from None


# -- patterns -----------------------------------------------------------------------------------

_MAX_COUNT = {
    "G": 5, "u": 19, "y": 19, "Y": 19, "D": 3, "M": 5, "L": 5, "d": 2, "Q": 5, "q": 5, "w": 2,
    "W": 1, "E": 5, "e": 5, "c": 5, "F": 1, "a": 1, "h": 2, "K": 2, "k": 2, "H": 2, "m": 2,
    "s": 2, "S": 9, "A": 19, "n": 19, "N": 19, "V": 2, "v": 4, "z": 4, "O": 4, "X": 5, "x": 5,
    "Z": 5,
}  # fmt: skip


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> tuple[Token, ...]:
    """Split a ``DateTimeFormatter.ofPattern`` pattern into literals and (letter, count) fields."""
    tokens: list[Token] = []
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == "'":
            end = index + 1
            text: list[str] = []
            while True:
                if end >= size:
                    raise DateError(f"Pattern ends with an incomplete string literal: {pattern}")
                if pattern[end] == "'":
                    if end + 1 < size and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            tokens.append("".join(text) if end > index + 1 else "'")
            index = end + 1
        elif char.isascii() and char.isalpha():
            end = index
            while end < size and pattern[end] == char:
                end += 1
            count = end - index
            _check_letter(char, count)
            tokens.append((char, count))
            index = end
        elif char in "[]":
            index += 1  # optional sections: every field is available when formatting a zoned date-time
        elif char in "#{}":
            raise DateError(f"Pattern includes reserved character: '{char}'")
        else:
            tokens.append(char)
            index += 1
    return tuple(tokens)


def _check_letter(letter: str, count: int) -> None:
    if letter not in _MAX_COUNT:
        raise DateError(f"Unknown pattern letter: {letter}")
    if count > _MAX_COUNT[letter]:
        raise DateError(f"Too many pattern letters: {letter}")
    if letter == "V" and count != 2:
        raise DateError("Pattern letter count must be 2: V")
    if letter in "Ov" and count not in (1, 4):
        raise DateError(f"Pattern letter count must be 1 or 4: {letter}")
    if letter == "c" and count == 2:
        raise DateError('Invalid pattern "cc"')


# -- formatting ---------------------------------------------------------------------------------


def _offset_seconds(moment: Moment) -> int:
    offset = moment.dt.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _offset_text(seconds: int, colon: bool, with_seconds: bool, minutes: str = "always") -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    mins, secs = divmod(rest, 60)
    separator = ":" if colon else ""
    text = f"{sign}{hours:02d}"
    if minutes == "always" or mins or (with_seconds and secs):
        text += f"{separator}{mins:02d}"
    if with_seconds and secs:
        text += f"{separator}{secs:02d}"
    return text


def _localized_offset(seconds: int, full: bool) -> str:
    if seconds == 0:
        return "GMT"
    sign = "+" if seconds > 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    mins, secs = divmod(rest, 60)
    if full:
        text = f"GMT{sign}{hours:02d}:{mins:02d}"
        return f"{text}:{secs:02d}" if secs else text
    text = f"GMT{sign}{hours}"
    if mins or secs:
        text += f":{mins:02d}"
    return f"{text}:{secs:02d}" if secs else text


def _offset_field(letter: str, count: int, seconds: int) -> str:
    if letter == "O":
        return _localized_offset(seconds, count == 4)
    if letter == "Z":
        if count <= 3:
            return _offset_text(seconds, False, False)
        if count == 4:
            return _localized_offset(seconds, True)
        return "Z" if seconds == 0 else _offset_text(seconds, True, True)
    if letter == "X" and seconds == 0:
        return "Z"
    if count == 1:
        return _offset_text(seconds, False, False, "optional")
    return _offset_text(seconds, count in (3, 5), count in (4, 5))


def _zone_name(moment: Moment, full: bool) -> str:
    if not moment.zone.region:
        return moment.zone.id
    if full:
        return _ZONE_NAMES.get(moment.zone.id, moment.zone.id)
    return moment.dt.tzname() or moment.zone.id


def _week_start(year: int, first_day: int = 7, minimal_days: int = 1) -> datetime.date:
    """First day of week 1 of ``year`` for ``WeekFields(first_day, minimal_days)`` (en_US: Sunday, 1)."""
    january_first = datetime.date(year, 1, 1)
    offset = (january_first.isoweekday() - first_day) % 7
    start = january_first - datetime.timedelta(days=offset)
    return start if 7 - offset >= minimal_days else start + datetime.timedelta(days=7)


def _week_based(day: datetime.date) -> tuple[int, int]:
    """(week-based-year, week-of-week-based-year) with en_US week fields."""
    year = day.year
    if day < _week_start(year):
        year -= 1
    elif day >= _week_start(year + 1):
        year += 1
    return year, (day - _week_start(year)).days // 7 + 1


def _number(value: int, count: int) -> str:
    return str(value) if count == 1 else f"{value:0{count}d}"


def _year(value: int, count: int) -> str:
    if count == 2:
        return f"{value % 100:02d}"
    return str(value) if count == 1 else f"{value:0{count}d}"


def _text(index: int, names: tuple[str, ...], count: int, narrow: int = 5) -> str:
    name = names[index]
    if count == narrow:
        return name[0]
    return name if count == 4 else name[:3]


def _field(letter: str, count: int, moment: Moment) -> str:
    dt, nano = moment.dt, moment.nano
    if letter in "yu":
        return _year(dt.year, count)
    if letter == "Y":
        return _year(_week_based(dt.date())[0], count)
    if letter in "ML":
        return _number(dt.month, count) if count <= 2 else _text(dt.month - 1, MONTHS, count)
    if letter == "d":
        return _number(dt.day, count)
    if letter == "D":
        return _number(dt.timetuple().tm_yday, count)
    if letter in "Qq":
        quarter = (dt.month - 1) // 3 + 1
        if count <= 2 or count == 5:
            return _number(quarter, min(count, 2))
        return f"Q{quarter}" if count == 3 else _QUARTERS[quarter - 1]
    if letter == "E":
        return _text(dt.weekday(), DAYS, max(count, 3))
    if letter in "ec":
        if count <= 2:
            return _number(dt.isoweekday() % 7 + 1, count)
        return _text(dt.weekday(), DAYS, count)
    if letter == "w":
        return _number(_week_based(dt.date())[1], count)
    if letter == "W":
        first = dt.replace(day=1)
        return str((dt.day - 1 + first.isoweekday() % 7) // 7 + 1)
    if letter == "F":
        return str((dt.day - 1) // 7 + 1)
    if letter == "G":
        return "Anno Domini" if count == 4 else ("A" if count == 5 else "AD")
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter == "H":
        return _number(dt.hour, count)
    if letter == "k":
        return _number(dt.hour or 24, count)
    if letter == "K":
        return _number(dt.hour % 12, count)
    if letter == "h":
        return _number(dt.hour % 12 or 12, count)
    if letter == "m":
        return _number(dt.minute, count)
    if letter == "s":
        return _number(dt.second, count)
    if letter == "S":
        return f"{nano:09d}"[:count]
    if letter == "n":
        return _number(nano, count)
    seconds_of_day = dt.hour * 3600 + dt.minute * 60 + dt.second
    if letter == "A":
        return _number(seconds_of_day * 1000 + nano // 1_000_000, count)
    if letter == "N":
        return _number(seconds_of_day * _NANOS_PER_SECOND + nano, count)
    if letter == "V":
        return moment.zone.id
    if letter in "zv":
        return _zone_name(moment, count == 4)
    return _offset_field(letter, count, _offset_seconds(moment))


def format_pattern(moment: Moment, pattern: str) -> str:
    return "".join(
        token if isinstance(token, str) else _field(token[0], token[1], moment)
        for token in compile_pattern(pattern)
    )


def _fraction(nano: int) -> str:
    return "" if nano == 0 else "." + f"{nano:09d}".rstrip("0")


def _local_date(moment: Moment) -> str:
    return format_pattern(moment, "yyyy-MM-dd")


def _local_time(moment: Moment) -> str:
    return format_pattern(moment, "HH:mm:ss") + _fraction(moment.nano)


def _offset(moment: Moment) -> str:
    return offset_id(_offset_seconds(moment))


def _zoned(moment: Moment) -> str:
    text = f"{_local_date(moment)}T{_local_time(moment)}{_offset(moment)}"
    return f"{text}[{moment.zone.id}]" if moment.zone.region else text


def _instant(moment: Moment) -> str:
    utc = moment.in_zone(Zone("Z", datetime.UTC, False))
    nano = utc.nano
    if nano == 0:
        fraction = ""
    elif nano % 1_000_000 == 0:
        fraction = f".{nano // 1_000_000:03d}"
    elif nano % 1000 == 0:
        fraction = f".{nano // 1000:06d}"
    else:
        fraction = f".{nano:09d}"
    return format_pattern(utc, "yyyy-MM-dd'T'HH:mm:ss") + fraction + "Z"


def _week_date(moment: Moment) -> str:
    year, week, day = moment.dt.isocalendar()
    return f"{year:04d}-W{week:02d}-{day}{_offset(moment)}"


def _rfc_1123(moment: Moment) -> str:
    seconds = _offset_seconds(moment)
    zone = "GMT" if seconds == 0 else _offset_text(seconds, False, False)
    return format_pattern(moment, "EEE, d MMM yyyy HH:mm:ss ") + zone


def _style(moment: Moment, style: str) -> str:
    """``DateTimeFormatter.ofLocalizedDateTime`` for en_US (CLDR, as on Java 21: U+202F before AM/PM)."""
    clock = (
        format_pattern(moment, "h:mm" if style == "short" else "h:mm:ss") + "\u202f" + _field("a", 1, moment)
    )
    if style == "short":
        return format_pattern(moment, "M/d/yy, ") + clock
    if style == "medium":
        return format_pattern(moment, "MMM d, yyyy, ") + clock
    if style == "long":
        return format_pattern(moment, "MMMM d, yyyy 'at' ") + clock + " " + _zone_name(moment, False)
    return format_pattern(moment, "EEEE, MMMM d, yyyy 'at' ") + clock + " " + _zone_name(moment, True)


_PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
}
_NAMED = {
    "iso_date_time": _zoned,
    "iso_zoned_date_time": _zoned,
    "iso_offset_date_time": lambda m: f"{_local_date(m)}T{_local_time(m)}{_offset(m)}",
    "iso_date": lambda m: _local_date(m) + _offset(m),
    "iso_time": lambda m: _local_time(m) + _offset(m),
    "iso_offset_time": lambda m: _local_time(m) + _offset(m),
    "iso_local_date": _local_date,
    "iso_local_time": _local_time,
    "iso_local_date_time": lambda m: f"{_local_date(m)}T{_local_time(m)}",
    "iso_instant": _instant,
    "iso_ordinal_date": lambda m: format_pattern(m, "yyyy-DDD") + _offset(m),
    "iso_week_date": _week_date,
    "rfc_1123_date_time": _rfc_1123,
}
NAMED_FORMATS = frozenset((*_PATTERNS, *_NAMED, "full", "long", "medium", "short"))


def format_moment(moment: Moment, format: str) -> str:
    """Format with a Kestra named format (``iso``, ``sql``, ``iso_date``, ``full``…) or a Java pattern."""
    if format in _PATTERNS:
        return format_pattern(moment, _PATTERNS[format])
    if format in _NAMED:
        return _NAMED[format](moment)
    if format in ("full", "long", "medium", "short"):
        return _style(moment, format)
    return format_pattern(moment, format)


# -- parsing ------------------------------------------------------------------------------------

_ISO = re.compile(
    r"(?P<year>[+-]?\d{4,9})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?"
    r"(?:\[(?P<zone>[^\]]{1,64})\])?"
)
_OFFSET_REGEX = r"[Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?"
_NAME_REGEX = r"[A-Za-z][A-Za-z0-9_+\-/]*"


def _alternatives(names: tuple[str, ...]) -> str:
    return "|".join(sorted((re.escape(name) for name in names), key=len, reverse=True))


def _parse_regex(letter: str, count: int) -> str:
    if letter in "yu":
        return r"\d{2}" if count == 2 else (r"[+-]?\d{4,9}" if count >= 4 else r"[+-]?\d{1,9}")
    if letter in "ML" and count >= 3:
        names = MONTHS if count == 4 else tuple(name[:3] for name in MONTHS)
        return _alternatives(names)
    if letter in "Eec" and (letter == "E" or count >= 3):
        names = DAYS if count == 4 else tuple(name[:3] for name in DAYS)
        return _alternatives(names)
    if letter in "MLdDHkKhms":
        return rf"\d{{{count}}}" if count > 1 else r"\d{1,3}"
    if letter == "S":
        return rf"\d{{{count}}}"
    if letter == "n":
        return r"\d{1,9}"
    if letter == "a":
        return "AM|PM|am|pm"
    if letter == "G":
        return "AD|BC|Anno Domini|Before Christ|A|B"
    if letter in "XxZ":
        return r"GMT(?:[+-]\d{1,2}(?::?\d{2})?)?" if count == 4 and letter == "Z" else _OFFSET_REGEX
    if letter == "O":
        return r"GMT(?:[+-]\d{1,2}(?::?\d{2})?)?"
    if letter in "Vzv":
        return rf"{_OFFSET_REGEX}|{_NAME_REGEX}"
    raise DateError(f"pattern letter '{letter}' is not supported when parsing dates")


@lru_cache(maxsize=256)
def _parser(pattern: str) -> tuple[re.Pattern[str], tuple[tuple[str, int], ...]]:
    parts: list[str] = []
    fields: list[tuple[str, int]] = []
    for token in compile_pattern(pattern):
        if isinstance(token, str):
            parts.append(re.escape(token))
        else:
            parts.append(f"(?P<g{len(fields)}>{_parse_regex(*token)})")
            fields.append(token)
    return re.compile("".join(parts), re.IGNORECASE), tuple(fields)


def _zone_from_text(text: str) -> Zone:
    if text.upper().startswith("GMT"):
        rest = text[3:]
        return zone_of("UTC" + rest if rest else "UTC")
    return zone_of("Z" if text in ("z", "Z") else text)


def _build(fields: dict[str, int], zone: Zone, parsed_zone: Zone | None, source: str) -> Moment:
    try:
        if "hour" not in fields:
            fields.setdefault("hour", 12)  # a date alone is read as Kestra reads a LocalDate: at noon
        local = datetime.datetime(
            fields["year"], fields["month"], fields["day"], fields["hour"],
            fields.get("minute", 0), fields.get("second", 0), fields.get("nano", 0) // 1000,
        )  # fmt: skip
    except (KeyError, ValueError) as error:
        raise DateError(f"Text '{source}' could not be parsed: {error}") from None
    nano = fields.get("nano", 0)
    if parsed_zone is None:
        return Moment.of(_localize(local, zone), zone, nano)
    return Moment.of(_localize(local, parsed_zone), parsed_zone, nano).in_zone(zone)


def _localize(local: datetime.datetime, zone: Zone) -> datetime.datetime:
    """Attach ``zone`` to a local date-time; a time in a DST gap moves forward, as in Java."""
    attached = local.replace(tzinfo=zone.tz)
    return attached.astimezone(datetime.UTC).astimezone(zone.tz)


def _iso(text: str, zone: Zone) -> Moment:
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise DateError(f"Text '{text}' could not be parsed as an ISO date-time")
    groups = match.groupdict()
    fields = {"year": int(groups["year"]), "month": int(groups["month"]), "day": int(groups["day"])}
    if groups["hour"] is not None:
        fields.update(
            hour=int(groups["hour"]), minute=int(groups["minute"]), second=int(groups["second"] or 0)
        )
        fields["nano"] = int((groups["fraction"] or "0").ljust(9, "0"))
    parsed: Zone | None = None
    if groups["offset"] is not None:
        parsed = _zone_from_text(groups["offset"])
    elif groups["zone"] is not None:
        parsed = zone_of(groups["zone"])
    return _build(fields, zone, parsed, text)


def _with_pattern(text: str, pattern: str, zone: Zone) -> Moment:
    regex, tokens = _parser(pattern)
    match = regex.fullmatch(text)
    if match is None:
        raise DateError(f"Text '{text}' could not be parsed with the format '{pattern}'")
    fields: dict[str, int] = {}
    parsed: Zone | None = None
    pm: bool | None = None
    twelve: int | None = None
    for index, (letter, count) in enumerate(tokens):
        value = match.group(f"g{index}")
        if letter in "yu":
            fields["year"] = 2000 + int(value) if count == 2 else int(value)
        elif letter in "ML":
            fields["month"] = int(value) if count <= 2 else _name_index(value, MONTHS) + 1
        elif letter == "d":
            fields["day"] = int(value)
        elif letter == "D":
            fields["day_of_year"] = int(value)
        elif letter == "H":
            fields["hour"] = int(value)
        elif letter == "k":
            fields["hour"] = int(value) % 24
        elif letter in "hK":
            twelve = int(value) % 12
        elif letter == "a":
            pm = value.upper() == "PM"
        elif letter == "m":
            fields["minute"] = int(value)
        elif letter == "s":
            fields["second"] = int(value)
        elif letter in "Sn":
            fields["nano"] = int(value.ljust(9, "0")) if letter == "S" else int(value)
        elif letter in "XxZOVzv":
            parsed = _zone_from_text(value)
    if twelve is not None:
        fields["hour"] = twelve + (12 if pm else 0)
    if "day_of_year" in fields and "year" in fields:
        day = datetime.date(fields["year"], 1, 1) + datetime.timedelta(days=fields.pop("day_of_year") - 1)
        fields.update(month=day.month, day=day.day)
    return _build(fields, zone, parsed, text)


def _name_index(value: str, names: tuple[str, ...]) -> int:
    lowered = value.lower()
    for index, name in enumerate(names):
        if lowered in (name.lower(), name[:3].lower()):
            return index
    raise DateError(f"unknown name '{value}'")


def parse_moment(text: str, zone: Zone, existing_format: str | None = None) -> Moment:
    """Parse ``text`` (ISO by default, else ``existing_format``) and express it in ``zone``."""
    if existing_format is None or existing_format in _NAMED:
        if existing_format == "rfc_1123_date_time":
            return _rfc_1123_parse(text, zone)
        return _iso(text, zone)
    if existing_format in ("full", "long", "medium", "short"):
        raise DateError(f"the '{existing_format}' format can not be used to parse dates")
    return _with_pattern(text, _PATTERNS.get(existing_format, existing_format), zone)


def _rfc_1123_parse(text: str, zone: Zone) -> Moment:
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise DateError(f"Text '{text}' could not be parsed as an RFC 1123 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return Moment.of(parsed.astimezone(zone.tz), zone)


def to_moment(value: Any, zone: Zone, existing_format: str | None = None) -> Moment:
    """Kestra's ``AbstractDate.convert``: date-times, dates, epoch seconds or strings, in ``zone``."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return Moment.of(_localize(value, zone), zone)
        return Moment.of(value.astimezone(zone.tz), zone)
    if isinstance(value, datetime.date):
        return Moment.of(_localize(datetime.datetime.combine(value, datetime.time(12)), zone), zone)
    if isinstance(value, bool):
        raise DateError("can not convert a boolean to a date")
    if isinstance(value, int | float):
        return from_epoch_nanos(_epoch_nanos(value), zone)
    if isinstance(value, str):
        if existing_format is not None and not isinstance(existing_format, str):
            raise DateError("existingFormat must be a string")
        return parse_moment(value, zone, existing_format)
    raise DateError(f"can not convert a value of type {type(value).__name__} to a date")


def _epoch_nanos(value: int | float) -> int:
    if isinstance(value, int):
        return value * _NANOS_PER_SECOND
    if value != value or value in (float("inf"), float("-inf")):
        raise DateError(f"can not convert {value} to a date")
    return round(value * _NANOS_PER_SECOND)


def from_epoch_nanos(total: int, zone: Zone) -> Moment:
    seconds, nano = divmod(total, _NANOS_PER_SECOND)
    try:
        utc = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise DateError("the date is out of range") from None
    return Moment.of(utc.astimezone(zone.tz), zone, nano)


def epoch_nanos(moment: Moment) -> int:
    return moment.epoch_second() * _NANOS_PER_SECOND + moment.nano


# -- arithmetic ---------------------------------------------------------------------------------

_TIME_UNITS = {
    "NANOS": 1,
    "MICROS": 1_000,
    "MILLIS": 1_000_000,
    "SECONDS": _NANOS_PER_SECOND,
    "MINUTES": 60 * _NANOS_PER_SECOND,
    "HOURS": 3600 * _NANOS_PER_SECOND,
    "HALF_DAYS": 43_200 * _NANOS_PER_SECOND,
}
_DAY_UNITS = {"DAYS": 1, "WEEKS": 7}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1_200, "MILLENNIA": 12_000}
UNITS = (*_TIME_UNITS, *_DAY_UNITS, *_MONTH_UNITS)


def plus(moment: Moment, amount: int, unit: str) -> Moment:
    """``ZonedDateTime.plus(amount, ChronoUnit.valueOf(unit))``: time units on the instant, date units on
    the local date-time (kept at the same wall-clock time across DST), months clamped to the month end."""
    try:
        if unit in _TIME_UNITS:
            return from_epoch_nanos(epoch_nanos(moment) + amount * _TIME_UNITS[unit], moment.zone)
        local = moment.dt.replace(tzinfo=None)
        if unit in _DAY_UNITS:
            local += datetime.timedelta(days=amount * _DAY_UNITS[unit])
        elif unit in _MONTH_UNITS:
            months = local.year * 12 + local.month - 1 + amount * _MONTH_UNITS[unit]
            year, month = divmod(months, 12)
            last_day = _days_in_month(year, month + 1)
            local = local.replace(year=year, month=month + 1, day=min(local.day, last_day))
        else:
            raise DateError(f"Unsupported unit: {unit} (expected one of {', '.join(UNITS)})")
    except (OverflowError, ValueError):
        raise DateError("the date is out of range") from None
    return Moment.of(_localize(local, moment.zone), moment.zone, moment.nano)


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (datetime.date(year, month + 1, 1) - datetime.date(year, month, 1)).days
