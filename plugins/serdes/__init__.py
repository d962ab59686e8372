"""File formats: `io.kestra.plugin.serdes.*` (PLUGINS.md §7), CSV and JSON to and from ION."""

from __future__ import annotations

from apps.plugins.sdk import Plugin
from plugins.serdes import csv_tasks, json_tasks

PLUGINS: list[type[Plugin]] = [*csv_tasks.PLUGINS, *json_tasks.PLUGINS]
