"""Internal-storage URIs (`kestra:///<name>`): the one check that a name stays inside storage.

A name is joined to the storage root by whoever reads it (the download API, `read()`, FILE
inputs, plugins' `get_file`), so it must not climb out or smuggle a separator: no `..` or `.`
segment, no empty segment, no backslash, no NUL or other control character, checked on the name
as given *and* on its percent-decoded form (`%2e%2e%2f`, `..%5c`, `a%00.txt`, double encoding).
Pure: the engine (inputs) and the Django side (files, run context) share it.
"""

from __future__ import annotations

from urllib.parse import unquote

SCHEMES = ("kestra://", "weir://")
_DECODE_ROUNDS = 3


def _problem(form: str) -> str | None:
    if any(ord(c) < 32 or ord(c) == 127 for c in form):
        return "control characters (NUL included) are not allowed"
    if "\\" in form:
        return "backslashes are not allowed"
    if any(segment in ("", ".", "..") for segment in form.split("/")):
        return "'..', '.' and empty segments are not allowed"
    return None


def storage_name(uri: str) -> str:
    """The storage name behind `uri`; ValueError naming the problem when it is not a safe one."""
    scheme = next((s for s in SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise ValueError(f"not a storage URI: {uri!r} (expected kestra:///…)")
    name = uri[len(scheme):].lstrip("/")
    if not name:
        raise ValueError(f"invalid storage path {uri!r}: no file name")
    forms = [name]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    for form in forms:
        problem = _problem(form)
        if problem:
            raise ValueError(f"invalid storage path {uri!r}: {problem}")
    return name
