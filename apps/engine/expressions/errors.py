"""The errors of the expression layer: untranslatable templates and renders stopped by a limit.

``ExpressionSyntaxError`` subclasses Jinja's ``TemplateSyntaxError`` so callers that render
expressions catch one type for both translator errors and the (rarer) errors Jinja finds in the
translated text, and it carries the character offset in the *Pebble* source, which is what an
editor needs to point at. ``ExpressionLimitError`` is a ``SecurityError``.
"""

from __future__ import annotations

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError

_SNIPPET_MAX = 80


def snippet(source: str, start: int, end: int) -> str:
    """Return ``source[start:end]`` on one line, shortened, for use inside an error message."""
    text = " ".join(source[start:end].split("\n"))
    if len(text) > _SNIPPET_MAX:
        text = text[: _SNIPPET_MAX - 3] + "..."
    return text


class ExpressionSyntaxError(TemplateSyntaxError):
    """A Pebble syntax error at ``offset`` (a character index into the original source).

    ``str(exc)`` is the full human-readable message, e.g.
    ``expression syntax error: unexpected '}' (in "{{ foo }")``; ``exc.detail`` is the bare reason.
    """

    def __init__(self, detail: str, offset: int, source: str, block: tuple[int, int] | None = None) -> None:
        start, end = block if block is not None else (offset, len(source))
        message = f'expression syntax error: {detail} (in "{snippet(source, start, end)}")'
        super().__init__(message, source.count("\n", 0, offset) + 1)
        # ``translated`` makes ``str(exc)`` return the message alone, without Jinja's location suffix.
        self.translated = True
        self.detail = detail
        self.offset = offset
        self._arguments = (detail, offset, source, block)

    def __reduce__(self) -> tuple[type[ExpressionSyntaxError], tuple[str, int, str, tuple[int, int] | None]]:
        """Keep the exception picklable (Jinja's own ``__reduce__`` assumes its constructor)."""
        return type(self), self._arguments


class ExpressionLimitError(SecurityError):
    """A render stopped by a resource limit (time, output size, range size, number size, nesting).

    A ``SecurityError`` (hence a ``TemplateRuntimeError``), so callers that already treat sandbox
    violations as task failures handle it the same way. The message names the limit, never internals.
    """
