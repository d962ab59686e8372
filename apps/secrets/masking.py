"""Masking of secret values (DESIGN.md §7, RELIABILITY.md §3.2 and §4 rows 18-19).

Every value read through `secret()`, every SECRET input revealed for rendering and every secret
the API loads for a namespace is remembered by this process (`remember`). `mask(text)` and
`mask_value(obj)` then replace, with the fixed-length `MASK` (no length leak):

- the value and its base64 (standard, url-safe, unpadded), URL-encoded (`%20` and `+` styles,
  and the `urlencode` filter's), JSON-escaped, HTML-escaped (an error report page), Python-repr
  (a traceback's locals) and hex forms;
- any of those broken by line breaks anywhere (a multi-line secret, base64 wrapped at 76
  columns, a value a task printed in two parts inside one message);
- a fragment at the end or start of a line that is at least a third of a form (and at least
  `MIN_FRAGMENT` characters): a secret split over two log lines shows neither part unless the
  split leaves one part shorter than that, and then only that short part;
- every line of a multi-line secret on its own;
- sealed SECRET input envelopes (`apps.secrets.sealing`), which never leave as ciphertext.

Every writer calls these (log lines, API responses, WebSocket frames). Remembered values are
kept in a bounded LRU so a long-running worker does not grow without end; a value in use is
remembered again each time it is read or rendered.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

MASK = "********"
MIN_SECRET = 3
MIN_FRAGMENT = 6
MAX_REMEMBERED = 1024
SEALED_PREFIX = "weir:sealed:v1:"
_SEALED = re.compile(re.escape(SEALED_PREFIX) + r"[A-Za-z0-9_=\-]+")
_BREAK = r"(?:\r?\n)?"

_lock = threading.Lock()
_known: OrderedDict[str, frozenset[str]] = OrderedDict()
_forms: tuple[str, ...] = ()
_compiled: dict[str, re.Pattern[str]] = {}
_index: dict[str, tuple[str, ...]] = {}
_short: tuple[str, ...] = ()
GRAM = MIN_FRAGMENT
"""Forms are found through their first and last `GRAM` characters (`_candidates`): any whole
occurrence contains the first, any edge fragment (at least `MIN_FRAGMENT` long) the first or the
last. Shorter forms are always checked."""
INDEX_FROM = 24
"""Below this many forms, checking each form with `in` is as fast as scanning the index."""


def forms_of(value: str) -> frozenset[str]:
    """The encodings of `value` a task is likely to print, line breaks removed."""
    raw = value.encode("utf-8")
    b64 = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    forms = {
        value, b64, b64.rstrip("="), url, url.rstrip("="),
        urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe=""),
        urllib.parse.quote_plus(value, safe="*").replace("~", "%7E"),
        json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
        raw.hex(), raw.hex().upper(), html.escape(value), repr(value)[1:-1],
    }
    forms |= {line.strip() for line in value.splitlines() if len(line.strip()) >= MIN_FRAGMENT}
    flat = {form.replace("\r", "").replace("\n", "") for form in forms}
    return frozenset(form for form in flat if len(form) >= MIN_SECRET)


def remember(value: str) -> None:
    """Mask `value` (and its forms) in everything this process writes from now on."""
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET or value.startswith(SEALED_PREFIX):
        return  # an envelope is masked by its prefix; remembering it would only evict real values
    with _lock:
        if value in _known:
            _known.move_to_end(value)
            return
        _known[value] = forms_of(value)
        while len(_known) > MAX_REMEMBERED:
            _known.popitem(last=False)
        _rebuild()


def _rebuild() -> None:
    """The sorted forms and the index of their first and last `GRAM` characters (under `_lock`)."""
    global _forms, _index, _short
    forms = tuple(sorted(set().union(*_known.values()), key=len, reverse=True))
    index: dict[str, list[str]] = {}
    for form in forms:
        if len(form) >= GRAM:
            for gram in {form[:GRAM], form[-GRAM:]}:
                index.setdefault(gram, []).append(form)
    _index = {gram: tuple(found) for gram, found in index.items()}
    _short = tuple(form for form in forms if len(form) < GRAM)
    _forms = forms


def remember_all(values: Iterable[str]) -> None:
    for value in values:
        remember(value)


def reset() -> None:
    """Forget every value (a fresh process); tests use it to prove a reader masks on its own."""
    with _lock:
        _known.clear()
        _rebuild()


def _broken(form: str) -> re.Pattern[str]:
    """`form` with an optional line break between any two characters."""
    pattern = _compiled.get(form)
    if pattern is None:
        pattern = re.compile(_BREAK.join(re.escape(ch) for ch in form))
        if len(_compiled) > 8 * MAX_REMEMBERED:
            _compiled.clear()
        _compiled[form] = pattern
    return pattern


def mask(text: str) -> str:
    """`text` with every remembered secret (any form, whole or split at a line edge) masked."""
    if not isinstance(text, str) or not text:
        return text
    if SEALED_PREFIX in text:
        text = _SEALED.sub(MASK, text)
    forms = _forms
    if not forms:
        return text
    flat = text.replace("\r", "").replace("\n", "") if "\n" in text else text
    if len(forms) >= INDEX_FROM:
        forms = _candidates(flat)
        if not forms:
            return text
    for form in forms:  # longest first, so a form inside a longer one does not split it
        if form in flat:
            text = _broken(form).sub(MASK, text) if flat is not text else text.replace(form, MASK)
            flat = text.replace("\r", "").replace("\n", "") if "\n" in text else text
    edged = [form for form in forms if len(form) > MIN_FRAGMENT and _has_half(text, form)]
    if not edged:
        return text
    return "\n".join(_mask_edges(line, edged) for line in text.split("\n"))


def _candidates(flat: str) -> tuple[str, ...]:
    """The forms whose first or last `GRAM` characters occur in `flat`, and the short ones,
    longest first: one dictionary lookup per character instead of one search per form."""
    index, found = _index, set(_short)
    for at in range(len(flat) - GRAM + 1):
        hit = index.get(flat[at:at + GRAM])
        if hit is not None:
            found.update(hit)
    return tuple(sorted(found, key=len, reverse=True))


def mask_value(value: Any) -> Any:
    """`mask` applied to every string (keys too) inside dicts, lists and tuples."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_value(k): mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def _least(form: str) -> int:
    return max(MIN_FRAGMENT, math.ceil(len(form) / 3))


def _has_half(text: str, form: str) -> bool:
    least = _least(form)
    return least < len(form) and (form[:least] in text or form[-least:] in text)


def _mask_edges(line: str, forms: list[str]) -> str:
    """Mask a trailing prefix or a leading suffix of a form: part of a secret split over two lines."""
    for form in forms:
        least = _least(form)
        body = line.rstrip()
        cut = _trailing_prefix(body, form, least)
        if cut is not None:
            line = body[:cut] + MASK + line[len(body):]
        body = line.lstrip()
        end = _leading_suffix(body, form, least)
        if end is not None:
            line = line[:len(line) - len(body)] + MASK + body[end:]
    return line


def _trailing_prefix(text: str, form: str, least: int) -> int | None:
    """Where `text` ends with a prefix of `form` at least `least` long, or None."""
    head = form[:least]
    start = max(0, len(text) - len(form) + 1)
    at = text.find(head, start)
    while at != -1:
        tail = text[at:]
        if form.startswith(tail):
            return at
        at = text.find(head, at + 1)
    return None


def _leading_suffix(text: str, form: str, least: int) -> int | None:
    """Where a suffix of `form` at least `least` long that `text` starts with ends, or None."""
    tail = form[-least:]
    at = text.find(tail)
    best = None
    while at != -1 and at + least < len(form):
        end = at + least
        if form.endswith(text[:end]):
            best = end
        at = text.find(tail, at + 1)
    return best
