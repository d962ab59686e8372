"""Execution-level operations the core tasks need (Resume, log Fetch, Count, Purge*), reached
from plugin code through `RunContext.host()` so that plugins never import Django."""

from __future__ import annotations

from typing import Any


class HostOperations:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
