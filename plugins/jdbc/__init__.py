"""SQL: `io.kestra.plugin.jdbc.{postgresql,sqlite,duckdb}.*` (PLUGINS.md §6)."""

from __future__ import annotations

from apps.plugins.sdk import Plugin
from plugins.jdbc import duckdb, postgresql, sqlite

PLUGINS: list[type[Plugin]] = [*postgresql.PLUGINS, *sqlite.PLUGINS, *duckdb.PLUGINS]
