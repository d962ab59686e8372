"""Ports: one function an upper layer provides to a lower one (docs/adr/0020).

Imports point down only. When a low module needs something only a higher app can do, it calls
a port it declares, and the higher layer connects its function at start-up, in
`AppConfig.ready()`. A port holds exactly one function: a second connection replaces the first
(so `ready()` may run twice), and a call before any connection fails loudly, naming the port and
its provider, instead of silently doing nothing. Declared ports: `apps/executions/runtime/ports.py`,
`apps/namespaces/ports.py`, `apps/audit/ports.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class PortNotConnected(RuntimeError):
    """A port was called before its upper layer connected it (AppConfig.ready() did not run)."""


class Port(Generic[F]):
    """One function an upper layer provides to a lower one."""

    def __init__(self, name: str, provider: str) -> None:
        self.name = name
        self.provider = provider
        self._fn: F | None = None

    def connect(self, fn: F) -> None:
        self._fn = fn

    @property
    def call(self) -> F:
        if self._fn is None:
            raise PortNotConnected(f"port '{self.name}' is not connected: {self.provider} connects it "
                                   "in AppConfig.ready()")
        return self._fn
