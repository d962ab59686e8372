"""The outside world an expression may reach, and only through the host: ``RenderServices``.

``secret()``, ``kv()``, ``read()``, ``fileURI()``, ``fileSize()`` and ``errorLogs()`` call the
services installed for the current render, by ``render(..., services=s)`` or ``using_services(s)``.
Without them those functions fail with "secret() is not available here": an expression has no other
way to reach storage, the database, environment variables or Django objects.

The host decides everything about access (which namespaces, which files, where secrets come from);
this module only routes the call, keeps the time spent waiting off the render clock, and turns the
host's exceptions into short ``TemplateRuntimeError`` messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from jinja2.exceptions import TemplateError, TemplateRuntimeError

from .limits import clock_paused

T = TypeVar("T")


class RenderServices(Protocol):
    """What the host lends to expression functions for the duration of a render."""

    def secret(self, name: str) -> str: ...

    def kv(self, namespace: str | None, key: str, error_on_missing: bool) -> Any: ...

    def read(self, path: str) -> str: ...

    def file_size(self, path: str) -> int: ...

    def file_uri(self, path: str) -> str: ...

    def error_logs(self) -> list[dict[str, Any]]: ...

    def mark_secret(self, value: str) -> None:
        """Remember ``value`` so logs and outputs mask it."""
        ...


_services: ContextVar[RenderServices | None] = ContextVar("weir_render_services", default=None)


@contextmanager
def using_services(services: RenderServices | None) -> Iterator[None]:
    """Make ``services`` what expression functions use inside the block (``None`` removes them)."""
    token = _services.set(services)
    try:
        yield
    finally:
        _services.reset(token)


def current_services() -> RenderServices | None:
    return _services.get()


def call_service(function: str, call: Callable[[RenderServices], T]) -> T:
    """Run ``call`` on the current services for the expression function named ``function``."""
    services = _services.get()
    if services is None:
        raise TemplateRuntimeError(f"{function}() is not available here")
    try:
        with clock_paused():
            return call(services)
    except TemplateError:
        raise
    except KeyError as error:  # KeyError's str() adds quotes around the message
        raise TemplateRuntimeError(str(error.args[0]) if error.args else f"{function}() failed") from error
    except Exception as error:
        detail = str(error) or type(error).__name__
        raise TemplateRuntimeError(f"{function}() failed: {detail}") from error
