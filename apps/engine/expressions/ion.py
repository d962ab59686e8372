"""A small Amazon Ion *text* reader and writer, for Kestra's ``fromIon()`` and ``toIon`` (its file format).

Reads what Kestra's ``FileSerde`` writes and a bit more: ``null`` (and typed nulls such as
``null.string``), booleans, integers (with ``_`` separators, hex, binary), decimals (``1.5``,
``1d2``), floats (``1e0``, ``nan``, ``+inf``), timestamps (kept as their ISO text), strings
(``"…"`` and long ``'''…'''`` strings), symbols (bare or ``'quoted'``, read as strings), lists,
S-expressions (read as lists), structs, annotations (``a::value``, dropped) and comments.
Blobs and clobs are not supported.

The writer emits compact Ion text the way Jackson's Ion mapper does: ``{a:1,b:"x",c:[1.5e0,null]}``.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from collections.abc import Mapping
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

from .limits import check_deadline, check_size
from .values import MapEntry, require_defined

_MAX_DEPTH = 64
_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(
    r"[+-]?(?:inf|0[xX][0-9a-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eEdD][+-]?\d+)?|\.\d+)"
)
_TIMESTAMP = re.compile(
    r"\d{4}(?:-\d{2}(?:-\d{2})?)?T?(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'", "/": "/", "?": "?",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v"}  # fmt: skip
_KEYWORDS = frozenset({"null", "true", "false", "nan"})


class IonError(TemplateRuntimeError):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, detail: str) -> IonError:
        return IonError(f"Invalid ion: {detail} at offset {self.pos}")

    def skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace():
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unclosed comment")
                self.pos = end + 2
            else:
                return

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def expect(self, char: str) -> None:
        self.skip()
        if not self.text.startswith(char, self.pos):
            raise self.fail(f"expected '{char}'")
        self.pos += 1

    def value(self, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail("nested too deeply")
        check_deadline()
        self.skip()
        while True:  # annotations: `name::value`
            mark = self.pos
            symbol = self._symbol_token()
            self.skip()
            if symbol is not None and self.text.startswith("::", self.pos):
                self.pos += 2
                self.skip()
                continue
            self.pos = mark
            break
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of input")
        char = self.text[self.pos]
        if char == "{":
            if self.text.startswith("{{", self.pos):
                raise self.fail("blobs and clobs are not supported")
            return self._struct(depth)
        if char == "[":
            return self._sequence("]", depth)
        if char == "(":
            return self._sequence(")", depth)
        if char == '"':
            return self._string('"')
        if self.text.startswith("'''", self.pos):
            return self._long_string()
        if char == "'":
            return self._string("'")
        return self._scalar()

    def _symbol_token(self) -> str | None:
        if (
            self.pos < len(self.text)
            and self.text[self.pos] == "'"
            and not self.text.startswith("'''", self.pos)
        ):
            return self._string("'")
        match = _SYMBOL.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def _struct(self, depth: int) -> dict[str, Any]:
        self.pos += 1
        result: dict[str, Any] = {}
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return result
            if self.text.startswith('"', self.pos):
                key: Any = self._string('"')
            elif self.text.startswith("'''", self.pos):
                key = self._long_string()
            else:
                key = self._symbol_token()
                if key is None:
                    raise self.fail("expected a field name")
            self.expect(":")
            result[str(key)] = self.value(depth + 1)
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")

    def _sequence(self, closer: str, depth: int) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.text.startswith(closer, self.pos):
                self.pos += 1
                return items
            items.append(self.value(depth + 1))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif closer == "]" and not self.text.startswith(closer, self.pos):
                raise self.fail("expected ',' or ']'")

    def _string(self, quote: str) -> str:
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.fail("unclosed string")
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(out)
            if char == "\\":
                out.append(self._escape())
                continue
            out.append(char)
            self.pos += 1

    def _long_string(self) -> str:
        parts: list[str] = []
        while self.text.startswith("'''", self.pos):
            self.pos += 3
            out: list[str] = []
            while not self.text.startswith("'''", self.pos):
                if self.pos >= len(self.text):
                    raise self.fail("unclosed long string")
                if self.text[self.pos] == "\\":
                    out.append(self._escape())
                    continue
                out.append(self.text[self.pos])
                self.pos += 1
            self.pos += 3
            parts.append("".join(out))
            self.skip()
        return "".join(parts)

    def _escape(self) -> str:
        code = self.text[self.pos + 1 : self.pos + 2]
        if code in _ESCAPES:
            self.pos += 2
            return _ESCAPES[code]
        if code == "\n":
            self.pos += 2
            return ""
        widths = {"x": 2, "u": 4, "U": 8}
        if code in widths:
            digits = self.text[self.pos + 2 : self.pos + 2 + widths[code]]
            try:
                value = chr(int(digits, 16))
            except ValueError:
                raise self.fail("invalid escape") from None
            self.pos += 2 + widths[code]
            return value
        raise self.fail("invalid escape")

    def _scalar(self) -> Any:
        text = self.text
        timestamp = _TIMESTAMP.match(text, self.pos)
        if timestamp is not None and "T" in timestamp.group() and len(timestamp.group()) >= 5:
            self.pos = timestamp.end()
            return timestamp.group()
        symbol = _SYMBOL.match(text, self.pos)
        if symbol is not None:
            word = symbol.group()
            self.pos = symbol.end()
            if word == "null":
                if text.startswith(".", self.pos):  # typed null: null.string, null.struct…
                    typed = _SYMBOL.match(text, self.pos + 1)
                    self.pos = typed.end() if typed is not None else self.pos + 1
                return None
            if word in ("true", "false"):
                return word == "true"
            if word == "nan":
                return math.nan
            return word
        number = _NUMBER.match(text, self.pos)
        if number is None or number.end() == self.pos:
            raise self.fail(f"unexpected character {text[self.pos]!r}")
        self.pos = number.end()
        return _number(number.group().replace("_", ""))


def _number(token: str) -> Any:
    if token.lstrip("+-") == "inf":
        return -math.inf if token.startswith("-") else math.inf
    lowered = token.lower()
    sign = -1 if token.startswith("-") else 1
    digits = lowered.lstrip("+-")
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if "e" in lowered:
        return float(lowered)
    if "d" in lowered or "." in lowered:
        return decimal.Decimal(lowered.replace("d", "e"))
    return int(lowered)


def from_ion(text: str, all_rows: bool = False) -> Any:
    """The first Ion value of ``text`` (``None`` if empty), or every top-level value with ``all_rows``."""
    reader = _Reader(text)
    values: list[Any] = []
    while not reader.at_end():
        values.append(reader.value())
        if not all_rows:
            return values[0]
    return values if all_rows else None


# -- writer -------------------------------------------------------------------------------------


_WRITE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _ion_string(text: str) -> str:
    out = [_WRITE_ESCAPES.get(char) or (char if ord(char) >= 32 else f"\\x{ord(char):02x}") for char in text]
    return '"' + "".join(out) + '"'


def _ion_symbol(name: str) -> str:
    if _SYMBOL.fullmatch(name) and name not in _KEYWORDS:
        return name
    escaped = name.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def _ion_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{text}e0"


def to_ion(value: Any) -> str:
    check_size(value)
    return _write(value)


def _write(value: Any) -> str:
    require_defined(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _ion_float(value)
    if isinstance(value, decimal.Decimal):
        text = str(value)
        return text if ("." in text or "E" in text) else f"{text}."
    if isinstance(value, str):
        return _ion_string(value)
    if isinstance(value, MapEntry):
        value = {str(value.key): value.value}
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_ion_symbol(str(key))}:{_write(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ",".join(_write(item) for item in value) + "]"
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return f"{value.isoformat()}T"
    return _ion_string(str(value))
