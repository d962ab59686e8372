"""Errors that name their place: a path inside a document plus its line and column.

Every user-facing problem with a flow source is a `Problem`; a collection of them travels as
`SourceInvalid`. The API turns that into a 422 (or 400 for unreadable YAML) JSON body, the CLI
into `file:line:col: message` lines, the editor into markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a source: where (path, 1-based line/column) and what is expected."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    unreadable: bool = False
    """True when the text cannot be read as a flow at all (YAML, limits, tags, unknown types or
    properties, invalid identity): the API answers 400 rather than 422 (docs/adr/0002)."""

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line is not None else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


@dataclass
class SourceInvalid(Exception):
    """A source failed to parse (`phase="parse"`) or to validate (`phase="validation"`)."""

    problems: list[Problem] = field(default_factory=list)
    phase: str = "validation"

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


class SourceTooLarge(Exception):
    """The source is over the configured byte limit; refused before parsing (HTTP 413)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"source is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit


class Conflict(Exception):
    """The request is valid but contradicts the current state (HTTP 409)."""


class NotFound(Exception):
    """The object does not exist or the caller may not read it (HTTP 404)."""


class BadRequest(Exception):
    """Malformed request parameters (HTTP 400)."""


class Unprocessable(Exception):
    """Well-formed but semantically invalid input (HTTP 422), optionally with one problem per field."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class DeployInvalid(Exception):
    """Some documents of a multi-document request are invalid; nothing was written.

    Raised by `apps.flows.services` (a multi-document deploy); the API answers 422 with one entry
    per document (400 when one could not even be read)."""

    def __init__(self, documents: list[dict[str, Any]], unreadable: bool = False) -> None:
        super().__init__(f"{len(documents)} invalid document(s)")
        self.documents = documents
        self.unreadable = unreadable
