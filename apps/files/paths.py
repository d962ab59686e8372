"""Namespace file paths: one normal form, and a clear refusal for anything that could leave
the namespace's tree (RELIABILITY.md §4 row 28).

A path is relative to the namespace's root, `/`-separated, given with or without a leading
`/` (Kestra's API sends `/scripts/etl.py`). Percent-encoding is decoded once and the result
checked again, so `%2e%2e%2f` and `..%5c` are refused like `../` and `..\\`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from apps.core.errors import BadRequest

MAX_PATH = 1024
MAX_SEGMENT = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize(raw: str | None, *, allow_root: bool = False) -> str:
    """`raw` as `dir/file.py` (no leading or trailing slash); "" is the root, only when allowed."""
    if raw is None:
        raise BadRequest("a path is required (?path=…)")
    text = str(raw)
    for candidate in (text, unquote(text)):
        if "\\" in candidate or _CONTROL.search(candidate):
            raise BadRequest(f"invalid path {text!r}: backslashes and control characters are not allowed")
        segments = [s for s in candidate.strip("/").split("/")]
        if any(s in (".", "..") for s in segments) or "//" in candidate.strip("/"):
            raise BadRequest(f"invalid path {text!r}: '.', '..' and empty segments are not allowed")
    if unquote(text) != text:
        raise BadRequest(f"invalid path {text!r}: send the path decoded (no percent-encoding)")
    path = text.strip("/")
    if not path and not allow_root:
        raise BadRequest("the path must name a file, not the root")
    if len(path) > MAX_PATH or any(len(s) > MAX_SEGMENT for s in path.split("/")):
        raise BadRequest(f"invalid path: at most {MAX_PATH} characters, {MAX_SEGMENT} per segment")
    return path


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def under(path: str, folder: str) -> bool:
    """Is `path` inside `folder` (or the folder itself)? "" is the root."""
    return folder == "" or path == folder or path.startswith(folder + "/")
