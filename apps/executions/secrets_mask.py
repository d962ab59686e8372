"""Masking of secret values in log lines (DESIGN.md §7): every value read through `secret()`
is remembered by this process and replaced by `******` in anything written to the log table."""

from __future__ import annotations

import base64
import threading
import urllib.parse

_known: set[str] = set()
_lock = threading.Lock()
MASK = "********"


def remember(value: str) -> None:
    if not value or len(value) < 3:
        return
    variants = {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe="")}
    variants |= {line for line in value.splitlines() if len(line) >= 3}
    with _lock:
        _known.update(variants)


def mask(text: str) -> str:
    if not _known:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text
