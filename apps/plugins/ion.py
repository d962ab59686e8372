"""Kestra's ION files: Amazon Ion *text*, one top-level value per line (PLUGINS.md §1).

Every Kestra reader parses these files line by line, so a value never spans lines. This module
writes values exactly as Kestra does (floats with `e0`, decimals with a `.`, temporal values as
timestamps or annotated strings) and reads them back, annotations turning strings into typed
values again. Reading and writing are per line, so files are streamed, never loaded whole.

A fast path handles the commonest line, a flat struct of strings, integers and nulls (what
CsvToIon writes), with C-level regex and string functions; anything else goes through the
full parser.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

__all__ = ["IonError", "dumps", "field_name", "loads", "read_lines", "string", "write_lines"]

string = json.encoder.encode_basestring  # type: ignore[attr-defined]
"""Ion text string literal of `str` (JSON's escapes are valid Ion; non-ASCII is kept)."""


class IonError(ValueError):
    """A line that is not valid Ion text."""


_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_KEYWORDS = frozenset({"null", "true", "false", "nan"})


def field_name(name: str) -> str:
    """A struct field name: bare when it is an identifier, else a quoted symbol."""
    if _IDENT.match(name) and name not in _KEYWORDS:
        return name
    return "'" + string(name)[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text + "e0"


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise IonError(f"cannot write decimal {value}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    text = ("-" if sign else "") + "".join(map(str, digits))
    if exponent == 0:
        return text + "."
    if exponent > 0:
        return f"{text}d{exponent}"
    return format(value, "f")


def _zone_name(zone: tzinfo | None) -> str | None:
    if isinstance(zone, ZoneInfo):
        return zone.key
    return None


def _timestamp(value: datetime) -> str:
    """An aware datetime in UTC as an Ion timestamp with milliseconds (a Java Instant)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def dumps(value: Any) -> str:
    """Ion text of one value, on one line (no trailing newline)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return string(value)  # type: ignore[no-any-return]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return 'LocalDateTime::"' + value.isoformat() + '"'
        if value.tzinfo is UTC:
            return _timestamp(value)
        zone = _zone_name(value.tzinfo)
        if zone:
            offset = value.isoformat()
            return f'ZonedDateTime::"{offset}[{zone}]"'
        return 'OffsetDateTime::"' + value.isoformat() + '"'
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        kind = "LocalTime" if value.tzinfo is None else "OffsetTime"
        return f'{kind}::"{value.isoformat()}"'
    if isinstance(value, timedelta):
        return string(iso_duration(value))  # type: ignore[no-any-return]
    if isinstance(value, bytes | bytearray | memoryview):
        return "{{" + base64.b64encode(bytes(value)).decode("ascii") + "}}"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{field_name(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return string(str(value))  # type: ignore[no-any-return]


def iso_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    return f"PT{seconds:g}S"


def write_lines(out: IO[str], values: Iterable[Any]) -> int:
    """Write one value per line; returns how many."""
    count = 0
    for value in values:
        out.write(dumps(value))
        out.write("\n")
        count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Reading

_FAST_FIELD = re.compile(r"""([A-Za-z_$][A-Za-z0-9_$]*|'[^'\\\n]*'):("[^"\\]*"|-?[0-9]+|null|true|false)""")
_FAST_CONST: dict[str, Any] = {"null": None, "true": True, "false": False}


def _fast_struct(line: str) -> dict[str, Any] | None:
    """A flat struct of strings/ints/bools/nulls without escapes, or None when the line is anything else."""
    if len(line) < 2 or line[0] != "{" or line[-1] != "}" or "\\" in line or "::" in line:
        return None
    pairs = _FAST_FIELD.findall(line)
    if not pairs:
        return {} if line == "{}" else None
    if sum(len(k) + len(v) for k, v in pairs) + 2 * len(pairs) + 1 != len(line):
        return None
    out: dict[str, Any] = {}
    for key, raw in pairs:
        name = key[1:-1] if key[0] == "'" else key
        first = raw[0]
        if first == '"':
            out[name] = raw[1:-1]
        elif first == "-" or first.isdigit():
            out[name] = int(raw)
        else:
            out[name] = _FAST_CONST[raw]
    return out


def loads(line: str) -> Any:
    """The one value on a line of Ion text."""
    text = line.strip()
    fast = _fast_struct(text)
    if fast is not None:
        return fast
    parser = _Parser(text)
    value = parser.value()
    parser.skip_space()
    if parser.pos != len(text):
        raise IonError(f"unexpected text after the value at column {parser.pos + 1}: {text[parser.pos:parser.pos + 20]!r}")
    return value


def read_lines(stream: Iterable[str]) -> Iterator[Any]:
    """Values of a line-oriented Ion file (blank lines skipped)."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield loads(line)
        except IonError as error:
            raise IonError(f"line {number}: {error}") from error


_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|(?:\d[\d_]*)?(?:\.\d*)?(?:[eEdD][-+]?\d+)?)"
)
_TIMESTAMP = re.compile(
    r"\d{4}(?:T|-\d{2}(?:T|-\d{2}(?:T(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[-+]\d{2}:\d{2}))?)?))"
)
_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_DIGIT_START = re.compile(r"[-+]?\d")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "a": "\a", "v": "\v", "0": "\0",
            "\\": "\\", '"': '"', "'": "'", "/": "/", "?": "?", "\n": ""}


def _typed(annotation: str, value: Any) -> Any:
    """Annotated strings back to typed values (LocalDateTime::"…" and friends)."""
    if not isinstance(value, str):
        return value
    try:
        if annotation == "LocalDateTime":
            return datetime.fromisoformat(value)
        if annotation in ("ZonedDateTime", "OffsetDateTime"):
            base, _, zone = value.partition("[")
            parsed = datetime.fromisoformat(base.replace("Z", "+00:00"))
            if zone:
                try:
                    return parsed.astimezone(ZoneInfo(zone.rstrip("]")))
                except (KeyError, ValueError):
                    return parsed
            return parsed
        if annotation in ("LocalTime", "OffsetTime"):
            return time.fromisoformat(value.replace("Z", "+00:00"))
        if annotation == "LocalDate":
            return date.fromisoformat(value)
    except ValueError:
        return value
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> IonError:
        return IonError(f"{what} at column {self.pos + 1}")

    def skip_space(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in " \t\r\n":
                self.pos += 1
            elif text.startswith("//", self.pos):
                self.pos = n
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated comment")
                self.pos = end + 2
            else:
                return

    def value(self) -> Any:
        self.skip_space()
        annotations: list[str] = []
        while True:
            start = self.pos
            symbol = self._maybe_symbol()
            if symbol is not None:
                self.skip_space()
                if self.text.startswith("::", self.pos):
                    self.pos += 2
                    self.skip_space()
                    annotations.append(symbol)
                    continue
                self.pos = start
            break
        value = self._bare()
        for annotation in reversed(annotations):
            value = _typed(annotation, value)
        return value

    def _maybe_symbol(self) -> str | None:
        text = self.text
        if self.pos < len(text) and text[self.pos] == "'" and not text.startswith("'''", self.pos):
            return self._quoted("'")
        match = _SYMBOL.match(text, self.pos)
        if match and match.group(0) not in ("null", "true", "false", "nan"):
            self.pos = match.end()
            return match.group(0)
        return None

    def _quoted(self, quote: str) -> str:
        text = self.text
        self.pos += 1
        parts: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.fail("unterminated string")
            ch = text[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(parts)
            if ch == "\\":
                parts.append(self._escape())
            else:
                end = self.pos
                while end < len(text) and text[end] not in (quote, "\\"):
                    end += 1
                parts.append(text[self.pos:end])
                self.pos = end

    def _escape(self) -> str:
        text = self.text
        code = text[self.pos + 1:self.pos + 2]
        if code in _ESCAPES:
            self.pos += 2
            return _ESCAPES[code]
        width = {"x": 2, "u": 4, "U": 8}.get(code)
        if width is None:
            raise self.fail(f"invalid escape \\{code}")
        digits = text[self.pos + 2:self.pos + 2 + width]
        try:
            char = chr(int(digits, 16))
        except ValueError as error:
            raise self.fail(f"invalid escape \\{code}{digits}") from error
        self.pos += 2 + width
        return char

    def _bare(self) -> Any:
        text = self.text
        if self.pos >= len(text):
            raise self.fail("missing value")
        ch = text[self.pos]
        if ch == '"':
            return self._quoted('"')
        if text.startswith("'''", self.pos):
            parts: list[str] = []
            while text.startswith("'''", self.pos):
                end = self.pos + 3
                self.pos = end
                chunk: list[str] = []
                while not text.startswith("'''", self.pos):
                    if self.pos >= len(text):
                        raise self.fail("unterminated long string")
                    if text[self.pos] == "\\":
                        chunk.append(self._escape())
                    else:
                        chunk.append(text[self.pos])
                        self.pos += 1
                self.pos += 3
                parts.append("".join(chunk))
                self.skip_space()
            return "".join(parts)
        if ch == "'":
            return self._quoted("'")
        if text.startswith("{{", self.pos):
            end = text.find("}}", self.pos + 2)
            if end < 0:
                raise self.fail("unterminated blob")
            inner = text[self.pos + 2:end].strip()
            self.pos = end + 2
            if inner.startswith('"'):
                return inner[1:-1].encode("latin-1")
            return base64.b64decode("".join(inner.split()))
        if ch == "{":
            return self._struct()
        if ch == "[":
            return self._sequence("]")
        if ch == "(":
            return self._sequence(")")
        return self._scalar()

    def _struct(self) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        self.skip_space()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return out
        while True:
            self.skip_space()
            if self.text.startswith('"', self.pos):
                name = self._quoted('"')
            else:
                symbol = self._maybe_symbol()
                if symbol is None:
                    match = re.compile(r"null|true|false|nan").match(self.text, self.pos)
                    if not match:
                        raise self.fail("expected a field name")
                    self.pos = match.end()
                    symbol = match.group(0)
                name = symbol
            self.skip_space()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            out[name] = self.value()
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                self.skip_space()
                if self.text.startswith("}", self.pos):
                    self.pos += 1
                    return out
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return out
            raise self.fail("expected ',' or '}'")

    def _sequence(self, close: str) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        separator = "," if close == "]" else None
        while True:
            self.skip_space()
            if self.text.startswith(close, self.pos):
                self.pos += 1
                return out
            out.append(self.value())
            self.skip_space()
            if separator and self.text.startswith(separator, self.pos):
                self.pos += 1
            elif not self.text.startswith(close, self.pos) and separator:
                raise self.fail(f"expected ',' or '{close}'")

    def _scalar(self) -> Any:
        text = self.text
        for word, value in (("null", None), ("true", True), ("false", False), ("nan", math.nan),
                            ("+inf", math.inf), ("-inf", -math.inf)):
            if text.startswith(word, self.pos):
                end = self.pos + len(word)
                if word == "null" and text.startswith(".", end):  # typed null: null.string
                    match = _SYMBOL.match(text, end + 1)
                    end = match.end() if match else end
                self.pos = end
                return value
        stamp = _TIMESTAMP.match(text, self.pos)
        if stamp:
            self.pos = stamp.end()
            return _parse_timestamp(stamp.group(0))
        number = _NUMBER.match(text, self.pos)
        if number and _DIGIT_START.match(number.group(0)):
            self.pos = number.end()
            return _parse_number(number.group(0))
        symbol = self._maybe_symbol()
        if symbol is not None:
            return symbol
        raise self.fail(f"unexpected {text[self.pos:self.pos + 10]!r}")


def _parse_number(raw: str) -> Any:
    text = raw.replace("_", "")
    lower = text.lower()
    if lower.lstrip("+-").startswith(("0x", "0b")):
        return int(text, 0)
    if "e" in lower:
        return float(text)
    if "d" in lower:
        mantissa, exponent = lower.split("d")
        return Decimal(f"{mantissa}e{exponent}")
    if "." in text:
        return Decimal(text)
    return int(text)


def _parse_timestamp(raw: str) -> date | datetime:
    text = raw.rstrip("T")
    if len(text) == 4:
        return date(int(text), 1, 1)
    if len(text) == 7:
        return date(int(text[:4]), int(text[5:7]), 1)
    if len(text) == 10:
        return date.fromisoformat(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.utcoffset() == timedelta(0) and (text.endswith("Z") or text.endswith("+00:00")):
        return parsed.replace(tzinfo=UTC)
    return parsed
