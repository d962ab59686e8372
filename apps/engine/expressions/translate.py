"""Translate a Kestra (Pebble) template into the Jinja dialect our sandboxed environment runs.

Text outside blocks, comments and ``{% raw %}`` bodies are copied unchanged. Each ``{{ … }}`` and
``{% … %}`` block is lexed (``lexer``) and parsed (``parser``) with Pebble's own rules, then
re-emitted in Jinja syntax, so string literals, nested brackets and Pebble's operator precedence
are all respected. Every translated block keeps the line count of its source block, so a line
number reported by Jinja is also a line number in the Pebble source.

Tags: ``if``/``elseif``/``else``/``endif`` (``elseif`` → ``elif``), ``for … in …``/``else``/``endfor``
(maps iterate as entries with ``key``/``value``, ``loop.index`` stays 0-based), ``set``, ``macro``,
``filter``, ``block``, ``raw``/``verbatim``. ``include``, ``import``, ``from``, ``embed`` and
``extends`` are rejected: an expression cannot load another template.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NoReturn

from .errors import ExpressionSyntaxError
from .lexer import Segment, scan
from .parser import ExpressionParser, helper

_OPENERS = {"if": "endif", "for": "endfor", "macro": "endmacro", "filter": "endfilter", "block": "endblock"}
_CLOSERS = {closer: opener for opener, closer in _OPENERS.items()}
_NO_ARGUMENTS = frozenset({"else", "endif", "endfor", "endmacro", "endfilter"})
_REJECTED = {
    "include": "expressions can not include other templates",
    "import": "expressions can not import other templates",
    "from": "expressions can not import other templates",
    "embed": "expressions can not embed other templates",
    "extends": "expressions can not extend other templates",
    "autoescape": "Kestra removed autoescaping",
    "parallel": "it is not supported",
    "cache": "it is not supported",
    "flush": "it is not supported",
}
_HINTS = {"elif": " (Pebble uses 'elseif')", "endset": " ('set' takes no body in Pebble)"}


@dataclass(frozen=True, slots=True)
class Translation:
    """The Jinja text, the segments it came from, and the lone expression of a ``{{ x }}`` template.

    ``single_expression`` is set when the whole source is exactly one print block, which is the
    case where typed rendering returns the native value.
    """

    text: str
    segments: tuple[Segment, ...]
    single_expression: str | None


@dataclass(slots=True)
class _Open:
    tag: str
    offset: int
    block: tuple[int, int]
    has_else: bool = False


class _Translator:
    def __init__(self, source: str, segments: list[Segment]) -> None:
        self.source = source
        self.segments = segments
        self.stack: list[_Open] = []
        self.loop_depth = 0

    def run(self) -> Translation:
        parts: list[str] = []
        single: str | None = None
        for segment in self.segments:
            if segment.kind in ("text", "comment"):
                parts.append(self.source[segment.start : segment.end])
                continue
            if segment.kind == "raw":
                parts.append(self.raw(segment))
                continue
            if segment.kind == "print":
                parser = self.parser(segment, 0)
                body = parser.parse_all()
                single = body
            else:
                body = self.tag(segment)
            parts.append(self.wrap(segment, body))
        if self.stack:
            still_open = self.stack[-1]
            self.fail(
                f"unclosed '{still_open.tag}' (missing '{{% {_OPENERS[still_open.tag]} %}}')",
                still_open.offset,
                still_open.block,
            )
        is_single = len(self.segments) == 1 and self.segments[0].kind == "print"
        return Translation("".join(parts), tuple(self.segments), single if is_single else None)

    def fail(self, detail: str, offset: int, block: tuple[int, int]) -> NoReturn:
        raise ExpressionSyntaxError(detail, offset, self.source, block)

    def parser(self, segment: Segment, position: int) -> ExpressionParser:
        block = (segment.start, segment.end)
        return ExpressionParser(self.source, segment.tokens, block, self.loop_depth > 0, position)

    def wrap(self, segment: Segment, body: str) -> str:
        """Re-assemble a block around its translated body, padding it to the source line count."""
        opening, closing = ("{{", "}}") if segment.kind == "print" else ("{%", "%}")
        padding = "\n" * self.source.count("\n", segment.start, segment.end)
        left = "-" if segment.trim_left else ""
        right = "-" if segment.trim_right else ""
        return f"{opening}{left} {body} {padding}{right}{closing}"

    def raw(self, segment: Segment) -> str:
        trims = ["-" if flag else "" for flag in segment.raw_trims]
        inner_start, inner_end = segment.inner
        open_lines = "\n" * self.source.count("\n", segment.start, inner_start)
        close_lines = "\n" * self.source.count("\n", inner_end, segment.end)
        return (
            f"{{%{trims[0]} raw {open_lines}{trims[1]}%}}"
            + self.source[inner_start:inner_end]
            + f"{{%{trims[2]} endraw {close_lines}{trims[3]}%}}"
        )

    def tag(self, segment: Segment) -> str:
        block = (segment.start, segment.end)
        if not segment.tokens or segment.tokens[0].kind != "name":
            self.fail("expected a tag name", segment.start, block)
        head = segment.tokens[0]
        name = head.value
        parser = self.parser(segment, 1)
        if name in ("if", "elseif"):
            body = f"{'if' if name == 'if' else 'elif'} {parser.parse_all()}"
        elif name == "for":
            variable = parser.expect_new_variable()
            keyword = parser.peek()
            if keyword is None or not keyword.is_name("in"):
                parser.unexpected(keyword, "'in'")
            parser.position += 1
            body = f"for {variable} in {helper('iter', parser.parse_all())}"
        elif name == "set":
            variable = parser.expect_new_variable()
            parser.expect_punct("=")
            body = f"set {variable} = {parser.parse_all()}"
        elif name == "macro":
            macro = parser.expect_new_variable()
            body = f"macro {macro}({parser.parse_macro_parameters()})"
            parser.expect_end()
        elif name == "filter":
            body = f"filter {parser.parse_filter_chain()}"
        elif name in ("block", "endblock"):
            label = parser.expect_name("a block name").value if name == "block" or parser.peek() else ""
            parser.expect_end()
            body = f"{name} {label}".rstrip()
        elif name in _NO_ARGUMENTS:
            parser.expect_end()
            body = name
        elif name in _REJECTED:
            self.fail(f"the '{name}' tag is not available: {_REJECTED[name]}", head.start, block)
        elif name in ("endraw", "endverbatim"):
            self.fail(f"unexpected '{name}' without a matching opening tag", head.start, block)
        else:
            self.fail(f"unknown tag '{name}'{_HINTS.get(name, '')}", head.start, block)
        self.track(name, head.start, block)
        return body

    def track(self, name: str, offset: int, block: tuple[int, int]) -> None:
        """Check tag nesting so mistakes get Pebble words and exact offsets (not Jinja's)."""
        if name in _OPENERS:
            self.stack.append(_Open(name, offset, block))
            self.loop_depth += name == "for"
            return
        top = self.stack[-1] if self.stack else None
        if name in _CLOSERS:
            if top is None or top.tag != _CLOSERS[name]:
                expected = f" (the innermost open tag is '{top.tag}')" if top else ""
                self.fail(f"unexpected '{name}'{expected}", offset, block)
            self.stack.pop()
            self.loop_depth -= name == "endfor"
        elif name in ("else", "elseif"):
            allowed = ("if",) if name == "elseif" else ("if", "for")
            if top is None or top.tag not in allowed:
                self.fail(f"unexpected '{name}' outside of {' or '.join(allowed)}", offset, block)
            if top.has_else:
                self.fail(f"unexpected '{name}' after 'else'", offset, block)
            top.has_else = name == "else"


def _translate(source: str) -> Translation:
    segments: list[Segment] = []
    scan(source, segments)
    return _Translator(source, segments).run()


def analyze(source: str) -> tuple[Translation | None, ExpressionSyntaxError | None, tuple[Segment, ...]]:
    """Translate without raising: the translation or the error, plus every segment scanned so far.

    Used by ``check_syntax``, which still lints the blocks before a syntax error.
    """
    segments: list[Segment] = []
    try:
        scan(source, segments)
        return _Translator(source, segments).run(), None, tuple(segments)
    except ExpressionSyntaxError as error:
        return None, error, tuple(segments)


translate_full = lru_cache(maxsize=4096)(_translate)
"""Cached ``Translation`` of a source; raises ``ExpressionSyntaxError`` (errors are not cached)."""


def translate(source: str) -> str:
    """Translate Pebble template ``source`` to Jinja; raise ``ExpressionSyntaxError`` if invalid."""
    if "{" not in source:
        return source
    return translate_full(source).text
