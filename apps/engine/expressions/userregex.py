"""Regular expressions written by users, compiled and run so that none can pin a process (ADR 0012).

Every pattern that comes from a flow, an input declaration, a condition or an expression goes
through this module; fixed patterns of our own code keep using ``re``. The engine is the ``regex``
package, which takes a ``timeout`` on every matching call and releases the GIL while it matches
(``concurrent=True``), so a catastrophic pattern such as ``(a|aa)+$`` stops with ``RegexTimeout``
and the worker's lease thread keeps running meanwhile. It is a backtracking engine like Java's, so
lookarounds, back-references, possessive quantifiers, atomic groups and ``(?<name>…)`` groups keep
Kestra's meaning.

Time limit: inside a render the pattern gets what is left of the render's budget (``limits``), so
a render that spends its time in one match stops at the render's limit; elsewhere (a condition's
``REGEX`` filter, an input ``validator``) it gets ``MAX_REGEX_SECONDS``. A pattern that hit its
limit is refused at once for ``QUARANTINE_SECONDS`` in this process: a Flow trigger's condition
is tested at the end of every execution, and must not cost every one of them a full time limit. Compiling cannot be
interrupted, so patterns are bounded before they are compiled: ``MAX_PATTERN_CHARS`` characters and
counted repetitions (``{n}``) that expand to at most ``MAX_REPEAT_WEIGHT`` items
(``apps.plugins.patterns``, which the plugin SDK validates properties with).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import lru_cache

import regex
from jinja2.exceptions import TemplateRuntimeError

from apps.plugins.patterns import MAX_PATTERN_CHARS as MAX_PATTERN_CHARS  # the bounds, named here too
from apps.plugins.patterns import MAX_REPEAT_WEIGHT as MAX_REPEAT_WEIGHT
from apps.plugins.patterns import PatternRefused, compile_bounded
from apps.plugins.patterns import shown as _shown

from .errors import ExpressionLimitError
from .limits import remaining_seconds

MAX_REGEX_SECONDS = 1.0
"""Time one matching call may take outside a render (inside one, the render's remaining budget)."""

QUARANTINE_SECONDS = 60.0
"""How long a pattern that hit its time limit is refused without being run (per process)."""

_quarantined: dict[str, float] = {}
"""Pattern → monotonic time until which it is refused."""

Pattern = regex.Pattern[str]
Match = regex.Match[str]


class RegexError(TemplateRuntimeError):
    """A user regular expression that cannot be used: invalid, too large or too slow."""


class InvalidRegex(RegexError):
    pass


class RegexTimeout(ExpressionLimitError, RegexError):
    """A match stopped at its time limit: the message names the pattern and the limit."""


@lru_cache(maxsize=512)
def compile_user(pattern: str) -> Pattern:
    """Compile a user's (Java-style) pattern, or raise ``InvalidRegex`` saying why not."""
    try:
        return compile_bounded(pattern)
    except PatternRefused as error:
        raise InvalidRegex(str(error)) from None


def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, or None: for validating flows before they run."""
    try:
        compile_user(pattern)
    except InvalidRegex as error:
        return str(error)
    return None


def time_limit() -> float:
    """Seconds the next matching call may take: the render's remaining budget, else the default."""
    left = remaining_seconds()
    return MAX_REGEX_SECONDS if left is None else max(left, 0.001)


def _timed_out(pattern: Pattern, limit: float) -> RegexTimeout:
    if len(_quarantined) > 1000:
        _quarantined.clear()
    _quarantined[pattern.pattern] = time.monotonic() + QUARANTINE_SECONDS
    return RegexTimeout(f"regular expression `{_shown(pattern.pattern)}` took too long (stopped after {limit:.2g} s); "
                        "nested repetition such as (a|aa)+ can take exponential time: simplify the pattern")


def _pattern(pattern: str | Pattern) -> Pattern:
    compiled = compile_user(pattern) if isinstance(pattern, str) else pattern
    until = _quarantined.get(compiled.pattern)
    if until is not None:
        if time.monotonic() < until:
            raise RegexTimeout(f"regular expression `{_shown(compiled.pattern)}` took too long less than "
                               f"{QUARANTINE_SECONDS:g} s ago and is not run again before then: simplify the pattern")
        _quarantined.pop(compiled.pattern, None)
    return compiled


def forget_slow_patterns() -> None:
    """Lift every quarantine (tests)."""
    _quarantined.clear()


def search(pattern: str | Pattern, text: str) -> Match | None:
    compiled, limit = _pattern(pattern), time_limit()
    try:
        return compiled.search(text, timeout=limit, concurrent=True)
    except TimeoutError:
        raise _timed_out(compiled, limit) from None


def fullmatch(pattern: str | Pattern, text: str) -> Match | None:
    compiled, limit = _pattern(pattern), time_limit()
    try:
        return compiled.fullmatch(text, timeout=limit, concurrent=True)
    except TimeoutError:
        raise _timed_out(compiled, limit) from None


def sub(pattern: str | Pattern, replacement: Callable[[Match], str], text: str) -> str:
    compiled, limit = _pattern(pattern), time_limit()
    try:
        return compiled.sub(replacement, text, timeout=limit, concurrent=True)
    except TimeoutError:
        raise _timed_out(compiled, limit) from None


def finditer(pattern: str | Pattern, text: str) -> Iterator[Match]:
    compiled, limit = _pattern(pattern), time_limit()
    try:
        yield from compiled.finditer(text, timeout=limit, concurrent=True)
    except TimeoutError:
        raise _timed_out(compiled, limit) from None
