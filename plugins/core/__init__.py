"""Weir's core plugins: Kestra's `io.kestra.plugin.core.*` catalog (KESTRA.md §3–4)."""

from __future__ import annotations

from apps.plugins.sdk import Plugin
from plugins.core import debug, flow, log

PLUGINS: list[type[Plugin]] = [
    *log.PLUGINS,
    *debug.PLUGINS,
    *flow.PLUGINS,
]
