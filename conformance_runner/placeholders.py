"""The manifest's `<...>` placeholders and its environment preconditions.

Inputs may hold descriptions of a value (`<unique name, same for the 3 runs>`, `<the letter a
repeated 11264 times (11 KiB)>`, `<local text file containing 'hello'>`); expectations may name
ids known only once the scenario ran (`<execution id>`, `<task run id of X>`). Preconditions set
environment variables (`SECRET_*`, `KESTRA_*`) and server globals.
"""

from __future__ import annotations

import base64
import re
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = re.compile(r"<([a-z][^<>]*)>")

# sample values for a declared input type, when a placeholder does not describe its value
_SAMPLES: dict[str, Any] = {
    "INT": 1, "FLOAT": 1.5, "BOOLEAN": True, "BOOL": True, "DATETIME": "2019-10-06T18:27:49Z",
    "DATE": "2019-10-06", "TIME": "18:27:49", "DURATION": "PT1S", "JSON": "{}", "YAML": "a: 1",
    "ARRAY": "[]", "URI": "https://example.com", "SECRET": "secret",
}


class Unresolved(Exception):
    """A placeholder the runner cannot give a value to."""


def unique_name() -> str:
    return f"conformance-{uuid.uuid4().hex[:12]}"


class InputValues:
    """Turns input placeholders into values; one per manifest run, so `same for the N runs` holds."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._unique: dict[str, str] = {}

    def unique(self, scope: str) -> str:
        return self._unique.setdefault(scope, unique_name())

    def resolve(self, inputs: Mapping[str, Any], declarations: list[Any], scope: str) -> dict[str, Any]:
        types = {str(d.get("id") or d.get("name")): str(d.get("type", "STRING")).upper()
                 for d in declarations if isinstance(d, Mapping)}
        values = {str(d.get("id") or d.get("name")): d.get("values")
                  for d in declarations if isinstance(d, Mapping)}
        out: dict[str, Any] = {}
        for key, value in inputs.items():
            match = PLACEHOLDER.fullmatch(value.strip()) if isinstance(value, str) else None
            out[key] = value if match is None else self._value(match.group(1), types.get(key, "STRING"),
                                                               values.get(key), scope)
        return out

    def _value(self, text: str, kind: str, choices: Any, scope: str) -> Any:
        lowered = text.lower()
        if "unique" in lowered:
            return self.unique(scope)
        repeated = re.search(r"letter (\S) repeated (\d+) times", text)
        if repeated:
            return repeated.group(1) * int(repeated.group(2))
        content = re.search(r"file containing '([^']*)'", text)
        if content or kind == "FILE":
            return self._file(content.group(1) if content else "conformance")
        if kind in ("ENUM", "SELECT") and isinstance(choices, list) and choices:
            return choices[0]
        return _SAMPLES.get(kind, "conformance")

    def upload(self, value: Any) -> Any:
        """A value for a multipart form: files this object wrote are sent as uploads."""
        if isinstance(value, str) and value.startswith(str(self.workdir)) and Path(value).is_file():
            return Path(value).open("rb")
        return value

    def text_file(self, content: str) -> str:
        """A local file holding `content`, for a FILE input."""
        return self._file(content)

    def _file(self, content: str) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=self.workdir, delete=False) as handle:
            handle.write(content)
        return handle.name


def substitute(value: Any, resolve: Callable[[str], str | None]) -> Any:
    """Replace every placeholder inside `value` (strings, maps, lists); raises Unresolved."""
    if isinstance(value, dict):
        return {substitute(k, resolve): substitute(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    if not isinstance(value, str) or "<" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        found = resolve(match.group(1))
        if found is None:
            raise Unresolved(f"cannot resolve <{match.group(1)}>")
        return found

    return PLACEHOLDER.sub(one, value)


# ---------------------------------------------------------------------------------------------
# Preconditions


_ASSIGNMENT = re.compile(r"\b([A-Z][A-Z0-9_]*[A-Z0-9])\s*=\s*")


def _literal(text: str) -> str:
    """A value as the manifest writes it: 'quoted' (optionally `xN`), {json}, or a bare word."""
    text = re.sub(r"\s*\((?:see|from)\b[^)]*\)\s*$", "", text.strip()).strip()
    quoted = re.fullmatch(r"'([^']*)'(?:\s*x\s*(\d+))?", text)
    if quoted:
        return quoted.group(1) * int(quoted.group(2) or 1)
    return text


def _value(text: str) -> str:
    """`base64 of X`, `base64 (with embedded newlines) of X`, `base64('x')`, or a literal."""
    encoded = re.fullmatch(r"base64\s*(?:\((?P<q>[^)]*)\))?\s*(?:of\s+(?P<of>.+))?", text.strip(), re.S)
    if not encoded or not (encoded.group("of") or encoded.group("q")):
        return _literal(text)
    qualifier = encoded.group("q") or ""
    raw = _literal(encoded.group("of")) if encoded.group("of") else _literal(qualifier)
    data = raw.encode()
    if "newline" in qualifier:
        return base64.encodebytes(data).decode()
    return base64.b64encode(data).decode()


def environment(preconditions: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Environment variables and server globals a precondition text asks for."""
    envs: dict[str, str] = {}
    server_globals: dict[str, Any] = {}
    for part in preconditions.split(";"):
        found = re.search(r"globals\s*(\{.*\})", part)
        if found:
            loaded = yaml.safe_load(found.group(1))
            if isinstance(loaded, dict):
                server_globals.update(loaded)
            continue
        names = list(_ASSIGNMENT.finditer(part))
        for index, match in enumerate(names):
            end = names[index + 1].start() if index + 1 < len(names) else len(part)
            raw = part[match.end():end].strip().rstrip(",.").strip()
            if match.group(1).startswith(("SECRET_", "KESTRA_")) or "environment" in part.lower():
                envs[match.group(1)] = _value(raw)
    return envs, server_globals
