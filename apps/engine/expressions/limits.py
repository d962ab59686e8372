"""Resource limits of a render: a time budget, an output size cap and caps on what one step may build.

A Kestra expression is author-controlled text evaluated on shared workers, so no expression may pin a
worker or exhaust its memory. The limits are module constants (read at call time, so tests can lower
them) and every violation raises ``ExpressionLimitError`` with a message naming the limit:

* time: ``render``/``render_typed`` start a clock (``time_limit``) that loops (``weir_iter``), calls,
  ranges, concatenations and the jq evaluator check (``check_deadline``). Time spent waiting on the
  host's services (KV store, files, logs) is not counted (``clock_paused``). A user regular
  expression gets what is left of the budget as its own timeout (``remaining_seconds``, used by
  ``userregex``), so one catastrophic match cannot outlive the render;
* interruption: the host may install a stop signal (``interruptible``, e.g. the worker's cancel
  event of a killed attempt); the same checks raise ``RenderInterrupted`` once it is set;
* size: output is accumulated by ``bounded_concat`` and structures are measured by ``check_size``
  before they are serialized or copied, so a shared sub-list repeated a million times is refused
  before anything large is built;
* arithmetic: ``check_repeat`` (``'a' * n``) and ``check_int_size`` (``*``, ``**``) refuse results
  past ``MAX_REPEAT`` items or ``MAX_INT_BITS`` bits before computing them.

A single C-level step other than a regular expression match (one sort, one join) cannot be
interrupted; its inputs are bounded by the size limits instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .errors import ExpressionLimitError

MAX_RENDER_SECONDS = 2.0
"""Wall-clock budget of one top-level render (nested ``render()`` calls share it)."""

MAX_OUTPUT_CHARS = 10_000_000
"""Largest string a render may produce, and largest structure a filter may serialize or copy."""

MAX_RANGE = 100_000
"""Largest list ``a..b`` / ``range()`` may build."""

MAX_REPEAT = 1_000_000
"""Largest string or list ``*`` may build, so ``'x' * 10**9`` cannot exhaust memory."""

MAX_INT_BITS = 256
"""Largest integer ``*`` and ``**`` may compute (Kestra's numbers are 64-bit Longs; this is 4 times that)."""

MAX_RENDER_DEPTH = 8
"""How deeply ``render()``/``renderOnce()`` may nest inside each other."""

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("weir_render_deadline", default=None)
_depth: ContextVar[int] = ContextVar("weir_render_depth", default=0)
_stop: ContextVar[Callable[[], bool] | None] = ContextVar("weir_render_stop", default=None)


class RenderInterrupted(ExpressionLimitError):
    """The host asked the render to stop (the attempt was killed)."""


@contextmanager
def interruptible(stop: Callable[[], bool]) -> Iterator[None]:
    """Make every render inside the block stop at its next check once ``stop()`` is true."""
    token = _stop.set(stop)
    try:
        yield
    finally:
        _stop.reset(token)


@contextmanager
def time_limit() -> Iterator[None]:
    """Start the render clock, unless an enclosing render already started it."""
    if _deadline.get() is not None:
        yield
        return
    seconds = MAX_RENDER_SECONDS
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline() -> None:
    """Raise ``ExpressionLimitError`` once the current render is over its time budget."""
    state = _deadline.get()
    if state is not None and time.monotonic() > state[0]:
        raise ExpressionLimitError(f"expression took longer than {state[1]:g} s")
    stop = _stop.get()
    if stop is not None and stop():
        raise RenderInterrupted("rendering was stopped: the attempt was killed")


def remaining_seconds() -> float | None:
    """What is left of the current render's time budget, or None outside a render."""
    state = _deadline.get()
    return None if state is None else state[0] - time.monotonic()


@contextmanager
def clock_paused() -> Iterator[None]:
    """Do not count the enclosed time (a call to the host's services) against the render budget."""
    started = time.monotonic()
    try:
        yield
    finally:
        state = _deadline.get()
        if state is not None:
            _deadline.set((state[0] + time.monotonic() - started, state[1]))


@contextmanager
def nested_render() -> Iterator[None]:
    """Count one level of ``render()`` nesting; refuse past ``MAX_RENDER_DEPTH``."""
    depth = _depth.get() + 1
    if depth > MAX_RENDER_DEPTH:
        raise ExpressionLimitError(f"render() is nested more than {MAX_RENDER_DEPTH} levels deep")
    token = _depth.set(depth)
    try:
        yield
    finally:
        _depth.reset(token)


def too_large(what: str = "the result") -> ExpressionLimitError:
    return ExpressionLimitError(f"{what} would be larger than {MAX_OUTPUT_CHARS} characters")


def check_length(length: int, what: str = "the result") -> None:
    if length > MAX_OUTPUT_CHARS:
        raise too_large(what)


def check_size(value: Any, what: str = "the result") -> None:
    """Refuse ``value`` if serializing it would exceed ``MAX_OUTPUT_CHARS``.

    Each string counts its length and every other node at least one, so the walk itself stops
    after at most ``MAX_OUTPUT_CHARS`` steps, even on heavily shared structures.
    """
    budget = MAX_OUTPUT_CHARS
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            budget -= len(item) + 2
        elif isinstance(item, Mapping):
            budget -= len(item) + 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            budget -= len(item) + 2
            stack.extend(item)
        else:
            budget -= 1
            entry = getattr(item, "__dataclass_fields__", None)
            if entry is not None:
                stack.extend(getattr(item, name) for name in entry)
        if budget < 0:
            raise too_large(what)


def bounded_concat(parts: Iterable[str]) -> str:
    """``"".join`` that stops once the text exceeds ``MAX_OUTPUT_CHARS`` (the environment's concat)."""
    collected: list[str] = []
    total = 0
    for part in parts:
        total += len(part)
        if total > MAX_OUTPUT_CHARS:
            raise ExpressionLimitError(f"expression output is larger than {MAX_OUTPUT_CHARS} characters")
        collected.append(part)
    return "".join(collected)


def check_repeat(left: Any, right: Any) -> None:
    """Refuse ``sequence * count`` (either order) building more than ``MAX_REPEAT`` items."""
    for sequence, count in ((left, right), (right, left)):
        repeatable = isinstance(sequence, str | bytes | list | tuple)
        if repeatable and isinstance(count, int) and len(sequence) * count > MAX_REPEAT:
            raise ExpressionLimitError(f"repetition would build more than {MAX_REPEAT} items")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int_product(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise ExpressionLimitError(f"the product would be larger than {MAX_INT_BITS} bits")


def check_power(base: Any, exponent: Any) -> None:
    """Refuse ``base ** exponent`` whose integer result would exceed ``MAX_INT_BITS`` bits."""
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 1 or abs(base) <= 1:
        return
    if exponent > MAX_INT_BITS or exponent * math.log2(abs(base)) >= MAX_INT_BITS:
        raise ExpressionLimitError(f"the power would be larger than {MAX_INT_BITS} bits")
