"""Static checks of a Kestra expression string, for flow validation and the editor.

``check_syntax`` reports Pebble syntax errors (from the translator, with exact offsets), anything
the Jinja parser still rejects after translation (offset of the block on the reported line), and
the hyphenated-id pitfall. It never evaluates anything. It is called for every dynamic property of
every flow on save, so strings without ``{{``/``{%`` return at once and results are memoised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import TemplateSyntaxError

from .environment import default_environment
from .errors import snippet
from .lexer import Segment
from .pitfalls import find_hyphen_pitfalls
from .translate import analyze


@dataclass(frozen=True, slots=True)
class ExpressionIssue:
    """A problem in an expression string; ``offset`` is a character index into that string."""

    message: str
    offset: int


def check_syntax(source: str) -> list[ExpressionIssue]:
    """Return the syntax problems of ``source`` (empty when it is fine), sorted by offset."""
    if "{{" not in source and "{%" not in source:
        return []
    return list(_check(source))


@lru_cache(maxsize=4096)
def _check(source: str) -> tuple[ExpressionIssue, ...]:
    translation, error, segments = analyze(source)
    issues: list[ExpressionIssue] = []
    if error is not None:
        issues.append(ExpressionIssue(str(error), error.offset))
    elif translation is not None:
        try:
            default_environment().parse(translation.text)
        except TemplateSyntaxError as jinja_error:
            issues.append(_from_jinja(jinja_error, source, segments))
    issues.extend(ExpressionIssue(p.message, p.offset) for p in find_hyphen_pitfalls(source, segments))
    return tuple(sorted(issues, key=lambda issue: issue.offset))


def _from_jinja(error: TemplateSyntaxError, source: str, segments: tuple[Segment, ...]) -> ExpressionIssue:
    """Map a Jinja error to the source: translation keeps line numbers, so find that line's block."""
    lines = source.split("\n")
    line = min(max(error.lineno, 1), len(lines))
    line_start = sum(len(text) + 1 for text in lines[: line - 1])
    line_end = line_start + len(lines[line - 1])
    start, end = line_start, line_end
    for segment in segments:
        if segment.kind != "text" and line_start <= segment.start <= line_end:
            start, end = segment.start, segment.end
            break
    detail = error.message or "invalid template"
    return ExpressionIssue(f'expression syntax error: {detail} (in "{snippet(source, start, end)}")', start)
