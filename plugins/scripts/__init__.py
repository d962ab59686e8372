"""Kestra's script plugins (`io.kestra.plugin.scripts.*`): Python, Shell and Node tasks run by
the Process runner in a sandbox (PLUGINS.md §3-4, docs/adr/0019-script-sandbox.md)."""

from __future__ import annotations

from apps.plugins.sdk import Plugin
from plugins.scripts import tasks

PLUGINS: list[type[Plugin]] = [*tasks.PLUGINS]
