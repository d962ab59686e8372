"""Detect ``outputs.my-task.value``: valid syntax that never means what its author intended.

Pebble reads a hyphen as subtraction, so ``outputs.my-task.value`` is ``outputs.my - task.value`` and
fails at run time (Kestra does not special-case it; its docs say to write ``outputs['my-task']``).
Hyphens are legal in task, input and flow ids, so this is the most common expression mistake.

Only dotted access rooted at a Kestra variable (``outputs``, ``inputs``, ``tasks``, ``vars``,
``trigger``, ``labels``) with the hyphen glued to both neighbours is flagged: ``a-b`` on other
variables, ``inputs.count - 1`` with spaces, and ``inputs.count-1`` (a number, nothing after) are
ordinary arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .lexer import Segment, Token

ROOTS = frozenset({"outputs", "inputs", "tasks", "vars", "trigger", "labels"})
_WORD_OPERATORS = frozenset({"and", "or", "not", "is", "contains", "equals", "in"})


@dataclass(frozen=True, slots=True)
class HyphenPitfall:
    offset: int
    message: str


def find_hyphen_pitfalls(source: str, segments: Iterable[Segment]) -> list[HyphenPitfall]:
    found: list[HyphenPitfall] = []
    for segment in segments:
        if segment.kind in ("print", "tag"):
            _scan(source, segment.tokens, found)
    return found


def _scan(source: str, tokens: tuple[Token, ...], found: list[HyphenPitfall]) -> None:
    index = 0
    while index < len(tokens):
        token = tokens[index]
        for part in token.parts:
            if isinstance(part, tuple):
                _scan(source, part, found)
        is_root = token.kind == "name" and token.value in ROOTS
        if is_root and not (index > 0 and tokens[index - 1].is_punct(".")):
            pitfall, index = _match(source, tokens, index)
            if pitfall is not None:
                found.append(pitfall)
            continue
        index += 1


def _closing_bracket(tokens: tuple[Token, ...], index: int) -> int | None:
    depth = 0
    for position in range(index, len(tokens)):
        if tokens[position].kind == "punct" and tokens[position].value in "([{":
            depth += 1
        elif tokens[position].kind == "punct" and tokens[position].value in ")]}":
            depth -= 1
            if depth == 0:
                return position
    return None


def _access_chain(tokens: tuple[Token, ...], index: int) -> tuple[int, int | None]:
    """Walk ``.name`` / ``[…]`` accessors from ``index``; return the end and the last ``.name`` token."""
    last_attribute: int | None = None
    while index < len(tokens):
        token = tokens[index]
        if token.is_punct(".") and index + 1 < len(tokens) and tokens[index + 1].kind == "name":
            last_attribute = index + 1
            index += 2
        elif token.is_punct("["):
            closing = _closing_bracket(tokens, index)
            if closing is None:
                break
            last_attribute = None
            index = closing + 1
        else:
            break
    return index, last_attribute


def _glued_segment(tokens: tuple[Token, ...], index: int) -> bool:
    """True if ``tokens[index]`` is a ``-`` touching both neighbours and followed by a key part."""
    if index + 1 >= len(tokens):
        return False
    hyphen, following = tokens[index], tokens[index + 1]
    if hyphen.kind != "op" or hyphen.value != "-":
        return False
    if hyphen.start != tokens[index - 1].end or following.start != hyphen.end:
        return False
    if following.kind == "name":
        return following.value not in _WORD_OPERATORS
    return following.kind == "number" and following.value.isdigit()


def _match(source: str, tokens: tuple[Token, ...], root: int) -> tuple[HyphenPitfall | None, int]:
    end, last_attribute = _access_chain(tokens, root + 1)
    if last_attribute is None or last_attribute != end - 1 or not _glued_segment(tokens, end):
        return None, root + 1
    parts = [tokens[last_attribute]]
    index = end
    while _glued_segment(tokens, index):
        parts.append(tokens[index + 1])
        index += 2
    chain_end, _ = _access_chain(tokens, index)
    first = parts[1]
    if first.kind == "name" and first.value in ROOTS:
        return None, root + 1  # `vars.total-vars.used` is most likely a real subtraction
    if all(part.kind == "number" for part in parts[1:]) and chain_end == index:
        return None, root + 1  # `inputs.count-1` is arithmetic
    text_start, text_end = tokens[root].start, tokens[chain_end - 1].end
    text = source[text_start:text_end]
    hyphens = [tokens[position].start for position in range(end, index, 2)]
    bounds = [text_start, *hyphens, text_end]
    pieces = [source[bounds[i] + (1 if i else 0) : bounds[i + 1]] for i in range(len(bounds) - 1)]
    prefix = source[text_start : tokens[last_attribute - 1].start]
    key = source[parts[0].start : parts[-1].end]
    rest = source[parts[-1].end : text_end]
    message = f"\"{text}\" reads as {' minus '.join(pieces)}; use {prefix}['{key}']{rest}"
    return HyphenPitfall(text_start, message), chain_end
