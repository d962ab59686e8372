"""Bounds on user regular expressions, checked before compiling (docs/adr/0012).

Compiling cannot be interrupted, so a pattern is refused before `regex.compile` when it is longer
than `MAX_PATTERN_CHARS` or its counted repetitions expand to more than `MAX_REPEAT_WEIGHT`
items. The plugin SDK validates regex properties with it when a flow is saved (`regex_problem`)
and the engine compiles every user pattern through it (`apps/engine/expressions/userregex.py`,
which adds time limits and quarantine for matching): one set of limits, below both.
"""

from __future__ import annotations

import regex

MAX_PATTERN_CHARS = 10_000
"""Longest pattern accepted."""

MAX_REPEAT_WEIGHT = 100_000
"""Largest size counted repetitions may expand a pattern to (``(?:a{1000}){1000}`` is 1 000 000):
the engine unrolls them while compiling, which no timeout covers."""


class PatternRefused(ValueError):
    """A pattern that cannot be compiled within the bounds; the message says why."""


def shown(pattern: str) -> str:
    return pattern if len(pattern) <= 80 else pattern[:77] + "..."


def repeat_weight(pattern: str) -> int:
    """An upper bound of the items counted repetitions unroll to: the sum over a sequence (and
    over alternatives), each atom times the upper count of its ``{n,m}`` quantifier."""
    stack: list[int] = [0]
    last = 0  # the weight of the atom a quantifier would apply to
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            stack[-1] += 1
            last = 1
            continue
        if char == "[":
            end = index + 1
            if end < len(pattern) and pattern[end] == "^":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            index = end + 1
            stack[-1] += 1
            last = 1
            continue
        if char == "(":
            stack.append(0)
            index += 1
            continue
        if char == ")" and len(stack) > 1:
            last = max(stack.pop(), 1)
            stack[-1] += last
            index += 1
            continue
        if char == "{":
            close = pattern.find("}", index)
            bounds = pattern[index + 1 : close].split(",") if close > 0 else []
            if 1 <= len(bounds) <= 2 and all(part.strip().isdigit() or part.strip() == "" for part in bounds) \
                    and bounds[0].strip():
                count = max(int(part) for part in bounds if part.strip())
                stack[-1] += last * (count - 1)
                last *= count
                index = close + 1
                if stack[-1] > MAX_REPEAT_WEIGHT:
                    return stack[-1]
                continue
        stack[-1] += 1
        last = 1
        index += 1
    return sum(stack)


def compile_bounded(pattern: str) -> regex.Pattern[str]:
    """Compile a user's (Java-style) pattern, or raise `PatternRefused` saying why not."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternRefused(f"regular expression is longer than {MAX_PATTERN_CHARS} characters")
    if repeat_weight(pattern) > MAX_REPEAT_WEIGHT:
        raise PatternRefused(f"regular expression `{shown(pattern)}` is too large: its counted repetitions "
                             f"expand to more than {MAX_REPEAT_WEIGHT} items")
    try:
        return regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as error:
        raise PatternRefused(f"invalid regular expression `{shown(pattern)}`: {error}") from None


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None."""
    try:
        compile_bounded(pattern)
    except PatternRefused as error:
        return str(error)
    return None
