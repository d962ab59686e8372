"""Taint tracking: a value computed from a secret stays a secret, whatever a template does to it.

``secret()`` and the host's revealed SECRET inputs are ``Tainted`` strings. Jinja's filters and
Python's string methods return plain ``str``, so the environment (``environment.PebbleEnvironment``)
routes every filter, function and method call, operator, subscript, ``~`` concatenation, loop and
printed value through ``propagate``: a result computed with a tainted argument is tainted too
(strings become ``Tainted``; the string leaves of a list or map result do). Numbers and booleans
carry no taint: ``secret('x') | length`` is not a secret.

What leaves a render is registered with the host (``RenderServices.mark_secret``) so masking
covers it in logs, outputs, errors, API answers, pages and WebSocket frames:

* string mode: every run of adjacent tainted output parts (a loop printing a reversed secret
  character by character registers the whole reversed text, not single characters);
* typed mode: every tainted string in the returned value;
* a failed render: every tainted value of the render that appears in the error message.

Registration happens once, when the outermost render ends (nested ``render()`` calls share the
state), so the host writes each value once. Implicit flows are not tracked: a value chosen by a
condition on a secret (``secret('x') == 'a' ? 'yes' : 'no'``) is not tainted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, overload

from .limits import bounded_concat
from .runtime import current_services
from .values import MapEntry

MIN_REGISTERED = 3
"""Shorter tainted values are not registered (a character or two of a secret reveals little, and
masking every ``a`` would make logs unreadable); the host's masking has the same floor."""

MAX_TRACKED = 1024
"""Tainted intermediate values a render keeps to mask its error message; past it, every one counts."""


class Tainted(str):
    """A string derived from a secret (``str`` in every other respect)."""

    __slots__ = ()


class TaintedCharacters(Sequence[Tainted]):
    """The characters of a tainted string, each tainted, produced as a loop reaches them."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __len__(self) -> int:
        return len(self.text)

    @overload
    def __getitem__(self, index: int) -> Tainted: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Tainted]: ...

    def __getitem__(self, index: int | slice) -> Tainted | Sequence[Tainted]:
        if isinstance(index, slice):
            return TaintedCharacters(self.text[index])
        return Tainted(self.text[index])


@dataclass
class _State:
    """The taint bookkeeping of one outermost render."""

    active: bool = False
    outputs: dict[str, None] = field(default_factory=dict)
    created: dict[str, None] = field(default_factory=dict)
    overflow: bool = False


_state: ContextVar[_State | None] = ContextVar("weir_render_taint", default=None)


def _active() -> bool:
    state = _state.get()
    return state is None or state.active


def is_tainted(value: Any) -> bool:
    """Whether ``value`` is, or (in a list, tuple, set or map) contains, a tainted string."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Tainted):
            return True
        if isinstance(item, str | int | float) or item is None:
            continue
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, MapEntry):  # what `{% for e in map %}` binds
            stack.extend((item.key, item.value))
    return False


def taint(value: Any) -> Any:
    """``value`` with every string in it tainted (containers are copied, other values kept)."""
    if isinstance(value, Tainted):
        return value
    if isinstance(value, str):
        marked = Tainted(value)
        _created(marked)
        return marked
    if isinstance(value, Mapping):
        return {taint(key): taint(item) for key, item in value.items()}
    if isinstance(value, list):
        return [taint(item) for item in value]
    if isinstance(value, tuple):
        return tuple(taint(item) for item in value)
    return value


def _created(value: Tainted) -> None:
    state = _state.get()
    if state is None:
        return
    state.active = True
    if len(state.created) < MAX_TRACKED:
        state.created[value] = None
    else:
        state.overflow = True


def propagate(result: Any, *sources: Any) -> Any:
    """``result``, tainted when any of ``sources`` is (the taint rule of every operation)."""
    if not _active() or isinstance(result, bool | int | float) or result is None:
        return result
    for source in sources:
        if is_tainted(source):
            return taint(result)
    return result


def propagate_call(result: Any, args: Iterable[Any], kwargs: Mapping[str, Any]) -> Any:
    """``propagate`` for a call: tainted when an argument is; a secret a function returns starts it."""
    if isinstance(result, Tainted):
        _created(result)  # secret(), or a filter that kept its tainted input
        return result
    if not _active() or isinstance(result, bool | int | float) or result is None:
        return result
    if is_tainted(tuple(args)) or is_tainted(tuple(kwargs.values())):
        return taint(result)
    return result


def text(value: Any) -> str:
    """``str(value)`` for template output, keeping the taint (Jinja's own ``str`` would drop it)."""
    if isinstance(value, Tainted):
        return value
    return str(value)


def join_output(parts: Iterable[str]) -> Iterator[str]:
    """The parts of a template's output, each run of adjacent tainted parts merged and registered."""
    run: list[str] = []
    for part in parts:
        if isinstance(part, Tainted):
            run.append(part)
            continue
        if run:
            yield _output_run(run)
            run = []
        yield part
    if run:
        yield _output_run(run)


def _output_run(run: list[str]) -> Tainted:
    merged = run[0] if len(run) == 1 else Tainted("".join(run))
    state = _state.get()
    if state is not None and merged.strip():
        state.outputs[merged] = None
        state.active = True
    return Tainted(merged)


def outputs_of(value: Any) -> None:
    """Register the tainted strings of a typed render's result as outputs."""
    state = _state.get()
    if state is None or not state.active:
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Tainted):
            state.outputs[item] = None
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


@contextmanager
def tracking(context: Mapping[str, Any]) -> Iterator[None]:
    """Track taint for one outermost render of ``context``; register what leaves it at the end.

    An enclosing render's state is shared. The render starts active when the context's inputs
    hold a revealed SECRET input; otherwise it becomes active once ``secret()`` is called.
    """
    if _state.get() is not None:
        yield
        return
    state = _State(active=_inputs_tainted(context.get("inputs")))
    token = _state.set(state)
    try:
        yield
    except Exception as error:
        if state.active:
            _register_in_error(state, str(error))
        raise
    finally:
        _state.reset(token)
        if state.outputs:
            _register(state.outputs)


def _inputs_tainted(inputs: Any) -> bool:
    """Revealed SECRET inputs sit in maps only (dotted ids nest), so lists are not walked."""
    stack = [inputs]
    while stack:
        item = stack.pop()
        if isinstance(item, Tainted):
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
    return False


def _register_in_error(state: _State, message: str) -> None:
    if state.overflow:
        state.outputs[Tainted(message)] = None  # too many to check one by one: hide the whole message
        return
    for value in state.created:
        if len(value.strip()) >= MIN_REGISTERED and value in message:
            state.outputs[value] = None


def _register(values: Iterable[str]) -> None:
    services = current_services()
    if services is None:
        return
    for value in values:
        if len(value.strip()) >= MIN_REGISTERED:
            services.mark_secret(str(value))


def secret_read(value: str) -> Tainted:
    """A secret ``secret()`` read: tainted, and registered whether or not the render prints it."""
    marked = Tainted(value)
    state = _state.get()
    if state is None:
        _register((marked,))
    else:
        state.outputs[marked] = None
        _created(marked)
    return marked


def concat_output(parts: Iterable[str]) -> str:
    """The environment's ``concat``: a template's (or ``{% set %}`` block's) output, size-checked;
    tainted when any part is, with each tainted run registered (``join_output``)."""
    found = False

    def scan() -> Iterator[str]:
        nonlocal found
        for part in join_output(parts):
            if isinstance(part, Tainted):
                found = True
            yield part

    joined = bounded_concat(scan())
    return Tainted(joined) if found else joined
