"""Split a Pebble template into segments and lex the inside of each ``{{ }}`` / ``{% %}`` block.

The rules follow Pebble's ``LexerImpl`` (the reference Kestra runs), not Jinja's:

* a block ends at its closing delimiter only when no bracket is open, so ``{{ {'a': 1}}}`` works and
  a ``}}`` inside a string literal never ends a block;
* single-quoted strings are plain; double-quoted strings may interpolate ``#{expr}``;
* the only escapes are ``\\'`` / ``\\"`` and ``\\\\`` (``'\\n'`` stays a backslash and an ``n``);
* ``5L`` is a long literal, ``1..5`` is a range (``..`` wins over a decimal point);
* ``{# … #}`` is a comment, and ``{% raw %}`` / ``{% verbatim %}`` bodies are not lexed at all.

Word operators (``and``, ``or``, ``not``, ``is``, ``contains``, ``equals``) are lexed as names and
recognised by the parser, which keeps them usable as attribute names after a dot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NoReturn

from .errors import ExpressionSyntaxError

TokenKind = Literal["name", "number", "string", "op", "punct"]
SegmentKind = Literal["text", "print", "tag", "raw", "comment"]
StringPart = str | tuple["Token", ...]


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme; ``start``/``end`` are offsets in the template source.

    A string with ``#{…}`` interpolation has an empty ``value`` and its pieces in ``parts``: decoded
    literal text alternating with the token tuples of the embedded expressions.
    """

    kind: TokenKind
    value: str
    start: int
    end: int
    parts: tuple[StringPart, ...] = ()

    def is_punct(self, value: str) -> bool:
        return self.kind == "punct" and self.value == value

    def is_name(self, value: str) -> bool:
        return self.kind == "name" and self.value == value


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of template text, a block, a comment or a raw section, with its source span.

    For ``raw`` segments ``inner`` is the span of the untouched body and ``raw_trims`` the four
    whitespace-control flags of the opening and closing tags, in source order.
    """

    kind: SegmentKind
    start: int
    end: int
    tokens: tuple[Token, ...] = ()
    trim_left: bool = False
    trim_right: bool = False
    inner: tuple[int, int] = (0, 0)
    raw_trims: tuple[bool, bool, bool, bool] = (False, False, False, False)


_START = re.compile(r"\{[{%#]")
_RAW_OPEN = re.compile(r"\{%(-?)\s*(raw|verbatim)\s*(-?)%\}")
_RAW_CLOSE = {
    "raw": re.compile(r"\{%(-?)\s*endraw\s*(-?)%\}"),
    "verbatim": re.compile(r"\{%(-?)\s*endverbatim\s*(-?)%\}"),
}
_WHITESPACE = re.compile(r"\s*")
_OPERATOR = re.compile(r"\?\?\?|\?\?|\.\.|==|!=|<=|>=|[<>+\-*/%~|]")
_NAME = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"(\d+)L|\d+(?:\.\d+)?")
_SINGLE_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'", re.S)
_DOUBLE_QUOTED_RUN = re.compile(r'(?:[^"\\#]|\\.|#(?!\{))+', re.S)
_PUNCT = frozenset("()[]{}?:.,=")
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def unescape(raw: str, quote: str) -> str:
    """Decode a Pebble string literal body the way Pebble does (quote escapes and ``\\\\`` only)."""
    if "\\" not in raw:
        return raw
    return raw.replace("\\" + quote, quote).replace("\\\\", "\\")


class _Lexer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.block_start = 0

    def fail(self, detail: str, offset: int) -> NoReturn:
        line_end = self.source.find("\n", offset)
        end = len(self.source) if line_end < 0 else line_end
        raise ExpressionSyntaxError(detail, offset, self.source, (self.block_start, end))

    def scan(self, out: list[Segment]) -> None:
        """Append the template's segments to ``out`` (partial results stay there on error)."""
        source, pos, size = self.source, 0, len(self.source)
        while pos < size:
            match = _START.search(source, pos)
            if match is None:
                out.append(Segment("text", pos, size))
                return
            start = match.start()
            if start > pos:
                out.append(Segment("text", pos, start))
            self.block_start = start
            opener = source[start + 1]
            if opener == "#":
                close = source.find("#}", match.end())
                if close < 0:
                    self.fail("unclosed comment (missing '#}')", start)
                out.append(Segment("comment", start, close + 2))
                pos = close + 2
                continue
            raw = _RAW_OPEN.match(source, start) if opener == "%" else None
            if raw is not None:
                pos = self._scan_raw(raw, out)
                continue
            body = match.end()
            trim_left = source.startswith("-", body)
            closer = "}}" if opener == "{" else "%}"
            tokens, end, trim_right = self.lex(body + trim_left, closer)
            kind: SegmentKind = "print" if opener == "{" else "tag"
            out.append(Segment(kind, start, end, tuple(tokens), trim_left, trim_right))
            pos = end

    def _scan_raw(self, opening: re.Match[str], out: list[Segment]) -> int:
        word = opening.group(2)
        closing = _RAW_CLOSE[word].search(self.source, opening.end())
        if closing is None:
            self.fail(f"unclosed '{word}' (missing '{{% end{word} %}}')", opening.start())
        trims = (
            bool(opening.group(1)),
            bool(opening.group(3)),
            bool(closing.group(1)),
            bool(closing.group(2)),
        )
        inner = (opening.end(), closing.start())
        out.append(Segment("raw", opening.start(), closing.end(), inner=inner, raw_trims=trims))
        return closing.end()

    def lex(self, pos: int, closer: str) -> tuple[list[Token], int, bool]:
        """Lex tokens from ``pos`` up to ``closer`` at bracket depth 0.

        Returns the tokens, the offset just past the closer and whether the closer carried the
        ``-`` whitespace-control mark. ``closer`` is ``}}``, ``%}`` or ``}`` (an interpolation).
        """
        source, size = self.source, len(self.source)
        tokens: list[Token] = []
        brackets: list[Token] = []
        while True:
            ws = _WHITESPACE.match(source, pos)
            pos = ws.end() if ws is not None else pos
            if pos >= size:
                if brackets:
                    self.fail(f"unclosed '{brackets[-1].value}'", brackets[-1].start)
                missing = "'}' to end the interpolation" if closer == "}" else f"'{closer}'"
                self.fail(f"unexpected end of template, missing {missing}", self.block_start)
            if not brackets:
                if closer != "}" and source.startswith("-" + closer, pos):
                    return tokens, pos + 3, True
                if source.startswith(closer, pos):
                    return tokens, pos + len(closer), False
            char = source[pos]
            match = _OPERATOR.match(source, pos)
            if match is not None:
                tokens.append(Token("op", match.group(), pos, match.end()))
                pos = match.end()
                continue
            match = _NAME.match(source, pos)
            if match is not None:
                tokens.append(Token("name", match.group(), pos, match.end()))
                pos = match.end()
                continue
            match = _NUMBER.match(source, pos)
            if match is not None:
                tokens.append(Token("number", match.group(1) or match.group(), pos, match.end()))
                pos = match.end()
                continue
            if char in _PUNCT:
                token = Token("punct", char, pos, pos + 1)
                if char in _CLOSING:
                    brackets.append(token)
                elif char in ")]}":
                    if not brackets:
                        self.fail(f"unexpected '{char}'", pos)
                    expected = _CLOSING[brackets.pop().value]
                    if char != expected:
                        self.fail(f"unexpected '{char}', expected '{expected}'", pos)
                tokens.append(token)
                pos += 1
                continue
            if char == "'":
                match = _SINGLE_QUOTED.match(source, pos)
                if match is None:
                    self.fail("unclosed string literal", pos)
                tokens.append(Token("string", unescape(match.group(1), "'"), pos, match.end()))
                pos = match.end()
                continue
            if char == '"':
                token = self._lex_double_quoted(pos)
                tokens.append(token)
                pos = token.end
                continue
            self.fail(f"unexpected character {char!r}", pos)

    def _lex_double_quoted(self, start: int) -> Token:
        source, pos = self.source, start + 1
        parts: list[StringPart] = []
        text: list[str] = []
        while True:
            match = _DOUBLE_QUOTED_RUN.match(source, pos)
            if match is not None:
                text.append(match.group())
                pos = match.end()
            if pos >= len(source):
                self.fail("unclosed string literal", start)
            if source[pos] == '"':
                break
            if source[pos] == "\\":  # a lone backslash just before the end of the source
                self.fail("unclosed string literal", start)
            # only '#{' is left: an interpolation
            if text:
                parts.append(unescape("".join(text), '"'))
                text = []
            tokens, pos, _ = self.lex(pos + 2, "}")
            if not tokens:
                self.fail("empty string interpolation '#{}'", pos - 1)
            parts.append(tuple(tokens))
        decoded = unescape("".join(text), '"')
        if not parts:
            return Token("string", decoded, start, pos + 1)
        if decoded:
            parts.append(decoded)
        return Token("string", "", start, pos + 1, tuple(parts))


def scan(source: str, out: list[Segment]) -> None:
    """Split ``source`` into segments, appending them to ``out``; raise ExpressionSyntaxError."""
    _Lexer(source).scan(out)
