"""String filters: Pebble's core ones and Kestra's, with Java semantics.

Java details kept on purpose: ``split`` takes a regular expression and drops trailing empty strings
(``String.split``); ``replace(…, regexp=true)`` uses Java replacement syntax (``$1``, ``${name}``);
``urlencode`` is ``URLEncoder.encode`` (space → ``+``); ``substring*`` follow commons-lang
``StringUtils``; ``title`` only upper-cases the first letter of each word; ``slugify`` is Kestra's.

Regular expressions are users' patterns: ``userregex`` compiles them (Java's ``(?<name>…)`` groups,
possessive quantifiers and atomic groups work) and runs each match under the render's time limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

from . import userregex
from .limits import MAX_REPEAT, check_length, check_size
from .values import expect_int, expect_string, pebble_filter, to_java_string, to_text, type_name


def _text(value: Any) -> str:
    return value if isinstance(value, str) else to_text(value)


# -- case and trimming --------------------------------------------------------------------------


@pebble_filter
def upper(value: Any) -> str:
    return _text(value).upper()


@pebble_filter
def lower(value: Any) -> str:
    return _text(value).lower()


@pebble_filter
def trim(value: Any) -> str:
    """Java's ``String.trim``: strips characters up to the space (control characters included)."""
    return _text(value).strip("".join(chr(code) for code in range(33)))


@pebble_filter
def capitalize(value: Any) -> str:
    """Upper-case the first non-blank character, leave the rest unchanged."""
    text = _text(value)
    for index, char in enumerate(text):
        if not char.isspace():
            return text[:index] + char.title() + text[index + 1 :]
    return text


@pebble_filter
def title(value: Any) -> str:
    """Upper-case the first letter of each whitespace-separated word (the rest is unchanged)."""
    result: list[str] = []
    capitalize_next = True
    for char in _text(value):
        if char.isspace():
            capitalize_next = True
        elif capitalize_next:
            char = char.title()
            capitalize_next = False
        result.append(char)
    return "".join(result)


@pebble_filter
def abbreviate(value: Any, length: Any) -> str:
    text = _text(value)
    width = expect_int(length, "abbreviate")
    if width < 0:
        raise TemplateRuntimeError("abbreviate expects a length of at least 0")
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    return text[: width - 3] + "..."


# -- encodings and hashes -----------------------------------------------------------------------


@pebble_filter
def base64encode(value: Any) -> str:
    text = expect_string(value, "base64encode")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@pebble_filter
def base64decode(value: Any) -> str:
    text = expect_string(value, "base64decode")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise TemplateRuntimeError(f"base64decode: invalid input ({error})") from error


@pebble_filter
def urlencode(value: Any) -> str:
    """``URLEncoder.encode(value, UTF-8)``: keeps ``a-zA-Z0-9.-*_``, space becomes ``+``."""
    return urllib.parse.quote_plus(expect_string(value, "urlencode"), safe="*").replace("~", "%7E")


@pebble_filter
def urldecode(value: Any) -> str:
    return urllib.parse.unquote_plus(expect_string(value, "urldecode"))


def _digest(algorithm: str) -> Callable[..., Any]:
    def digest(value: Any) -> str:
        if not isinstance(value, str):
            raise TemplateRuntimeError(f"{algorithm} needs a string to hash, got {type_name(value)}")
        return hashlib.new(algorithm, value.encode("utf-8")).hexdigest()

    digest.__name__ = algorithm
    return pebble_filter(digest)


md5 = _digest("md5")
sha1 = _digest("sha1")
sha256 = _digest("sha256")
sha512 = _digest("sha512")


@pebble_filter
def slugify(value: Any) -> str:
    """Kestra's ``Slugify.of``: dashes for blanks, accents dropped, ASCII word characters only."""
    text = re.sub(r"\s", "-", _text(value))
    text = unicodedata.normalize("NFD", text)
    text = re.sub(r"[^\w-]", "", text, flags=re.ASCII).replace("_", "-")
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-").lower()


# -- substrings ---------------------------------------------------------------------------------


@pebble_filter
def starts_with(subject: Any, /, value: Any = None) -> bool:
    return _text(subject).startswith(to_java_string(value))


@pebble_filter
def ends_with(subject: Any, /, value: Any = None) -> bool:
    return _text(subject).endswith(to_java_string(value))


def _separator(separator: Any, name: str) -> str | None:
    if separator is None:
        return None
    return expect_string(separator, name)


@pebble_filter
def substring_before(value: Any, separator: Any) -> str:
    text, sep = _text(value), _separator(separator, "substringBefore")
    if not text or sep is None:
        return text
    if sep == "":
        return ""
    position = text.find(sep)
    return text if position < 0 else text[:position]


@pebble_filter
def substring_before_last(value: Any, separator: Any) -> str:
    text, sep = _text(value), _separator(separator, "substringBeforeLast")
    if not text or not sep:
        return text
    position = text.rfind(sep)
    return text if position < 0 else text[:position]


@pebble_filter
def substring_after(value: Any, separator: Any) -> str:
    text, sep = _text(value), _separator(separator, "substringAfter")
    if not text:
        return text
    if sep is None:
        return ""
    position = text.find(sep)
    return "" if position < 0 else text[position + len(sep) :]


@pebble_filter
def substring_after_last(value: Any, separator: Any) -> str:
    text, sep = _text(value), _separator(separator, "substringAfterLast")
    if not text:
        return text
    if not sep:
        return ""
    position = text.rfind(sep)
    if position < 0 or position == len(text) - len(sep):
        return ""
    return text[position + len(sep) :]


# -- regular expressions ------------------------------------------------------------------------


def _java_replacement(replacement: str, regex: userregex.Pattern) -> Callable[[userregex.Match], str]:
    """A function expanding Java's ``Matcher.replaceAll`` syntax: ``$1``, ``${name}``, ``\\$``."""
    parts: list[str | int] = []
    literal: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            literal.append(replacement[index + 1])
            index += 2
            continue
        if char != "$":
            literal.append(char)
            index += 1
            continue
        if literal:
            parts.append("".join(literal))
            literal = []
        if replacement.startswith("{", index + 1):
            end = replacement.find("}", index)
            name = replacement[index + 2 : end] if end > 0 else ""
            if name not in regex.groupindex:
                raise TemplateRuntimeError(f"No group with name {{{name}}}")
            parts.append(regex.groupindex[name])
            index = end + 1
            continue
        digits = re.match(r"\d+", replacement[index + 1 :])
        if digits is None:
            raise TemplateRuntimeError("Illegal group reference in the replacement")
        number, used = int(digits.group()[0]), 1
        for length in range(2, len(digits.group()) + 1):  # Java takes more digits while the group exists
            if int(digits.group()[:length]) <= regex.groups:
                number, used = int(digits.group()[:length]), length
        if number > regex.groups:
            raise TemplateRuntimeError(f"No group {number}")
        parts.append(number)
        index += 1 + used
    if literal:
        parts.append("".join(literal))

    def expand(match: userregex.Match) -> str:
        return "".join(part if isinstance(part, str) else (match.group(part) or "") for part in parts)

    return expand


def _replace_text(text: str, pairs: Mapping[Any, Any], regexp: bool) -> str:
    for key, replacement in pairs.items():
        search, target = to_java_string(key), to_java_string(replacement)
        if regexp:
            regex = userregex.compile_user(search)
            text = userregex.sub(regex, _java_replacement(target, regex), text)
        else:
            occurrences = len(text) + 1 if search == "" else text.count(search)
            check_length(len(text) + occurrences * max(len(target) - len(search), 0))
            text = _java_literal_replace(text, search, target)
        check_length(len(text))
    return text


def _java_literal_replace(text: str, search: str, target: str) -> str:
    if search:
        return text.replace(search, target)
    return target + target.join(text) + target if text else target  # "ab".replace("", "-") is "-a-b-"


def _deep(value: Any, apply: Callable[[str], str]) -> Any:
    """Apply to every string of a map/list (other scalars as their Java ``toString``), as Kestra does."""
    if isinstance(value, Mapping):
        return {key: _deep(item, apply) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(item, apply) for item in value]
    return apply(to_java_string(value) if not isinstance(value, str) else value)


@pebble_filter
def replace(value: Any, replace_pairs: Any = None, regexp: Any = False) -> Any:
    """Kestra's ``replace(pairs, regexp=false)`` on a string, or on every string of a map/list."""
    if not isinstance(replace_pairs, Mapping):
        raise TemplateRuntimeError("The argument 'replace_pairs' is required (a map of search: replacement).")
    check_size(value)
    return _deep(value, lambda text: _replace_text(text, replace_pairs, bool(regexp)))


_ESCAPES = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}


@pebble_filter
def escape_char(value: Any, type: Any = None) -> Any:
    """``escapeChar('single'|'double'|'shell')`` on a string, or on every string of a map/list."""
    kind = type.lower() if isinstance(type, str) else None
    if kind not in _ESCAPES:
        raise TemplateRuntimeError(
            "The 'escapeChar' filter expects the value of 'type' to be either 'single', 'double', or 'shell'."
        )
    original, replacement = _ESCAPES[kind]
    check_size(value)
    return _deep(value, lambda text: text.replace(original, replacement))


@pebble_filter
def split(value: Any, delimiter: Any = None, limit: Any = None) -> list[str]:
    """Java's ``String.split(delimiter, limit)``: a regular expression; trailing empties dropped at 0."""
    text = _text(value)
    regex = userregex.compile_user(expect_string(delimiter, "split"))
    count = 0 if limit is None else expect_int(limit, "split")
    if text == "":
        return [""]
    parts: list[str] = []
    index = 0
    for match in userregex.finditer(regex, text):
        if count > 0 and len(parts) == count - 1:
            break
        if match.end() == 0:  # a zero-width match at the start never yields a leading empty string
            continue
        parts.append(text[index : match.start()])
        index = match.end()
        if len(parts) > MAX_REPEAT:
            raise TemplateRuntimeError(f"split would build more than {MAX_REPEAT} items")
    if index == 0:
        return [text]
    parts.append(text[index:])
    if count == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


# -- indentation --------------------------------------------------------------------------------


def _line_separator(text: str) -> str:
    for separator in ("\r\n", "\n\r", "\n", "\r"):
        if separator in text:
            return separator
    return "\n"


def _indent(value: Any, amount: Any, prefix: Any, name: str, leading: bool) -> str:
    text = _text(value)
    if text == "":
        return text
    if amount is None or isinstance(amount, bool) or not isinstance(amount, int):
        raise TemplateRuntimeError(f"The '{name}' filter expects an integer as argument 'amount'.")
    if amount < 0:
        raise TemplateRuntimeError(
            f"The '{name}' filter expects a positive integer >=0 as argument 'amount'."
        )
    pad_unit = " " if prefix is None else expect_string(prefix, name)
    newline = _line_separator(text)
    if leading:
        text = newline + text
    check_length(len(pad_unit) * amount * (text.count(newline) + 1) + len(text))
    return text.replace(newline, newline + pad_unit * amount)


@pebble_filter
def indent(value: Any, amount: Any = None, prefix: Any = None) -> str:
    """Indent every line but the first by ``amount`` times ``prefix`` (a space by default)."""
    return _indent(value, amount, prefix, "indent", False)


@pebble_filter
def nindent(value: Any, amount: Any = None, prefix: Any = None) -> str:
    """Start with a newline, then indent every line by ``amount`` times ``prefix``."""
    return _indent(value, amount, prefix, "nindent", True)


FILTERS: dict[str, Callable[..., Any]] = {
    "upper": upper,
    "lower": lower,
    "trim": trim,
    "capitalize": capitalize,
    "title": title,
    "abbreviate": abbreviate,
    "base64encode": base64encode,
    "base64decode": base64decode,
    "urlencode": urlencode,
    "urldecode": urldecode,
    "md5": md5,
    "sha1": sha1,
    "sha256": sha256,
    "sha512": sha512,
    "slugify": slugify,
    "startsWith": starts_with,
    "endsWith": ends_with,
    "substringBefore": substring_before,
    "substringBeforeLast": substring_before_last,
    "substringAfter": substring_after,
    "substringAfterLast": substring_after_last,
    "replace": replace,
    "escapeChar": escape_char,
    "split": split,
    "indent": indent,
    "nindent": nindent,
}
