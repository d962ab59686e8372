"""SQLite: `io.kestra.plugin.jdbc.sqlite.Query` (PLUGINS.md §6.6) on the standard library.

The database is a local file: `sqliteFile` (a `kestra://` file or inline content) is written
into the working directory under the URL's file name; a relative URL path is resolved in the
working directory, so a run never touches the worker's own files by accident.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, date, datetime, time
from typing import Any

from apps.plugins.sdk import DynBool, Plugin, RunContext, RunnableTask, TaskFailed, dynamic
from plugins.jdbc._common import (
    QueryOutputs,
    QueryProperties,
    bind,
    collect,
    fetch_type,
    work_file,
    write_input,
)

GROUP = "io.kestra.plugin.jdbc.sqlite"


def _text(data: bytes) -> str:
    return data.decode("utf-8")


def _date(data: bytes) -> date | str:
    try:
        return date.fromisoformat(_text(data)[:10])
    except ValueError:
        return _text(data)


def _instant(data: bytes) -> datetime | str:
    text = _text(data)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.fromtimestamp(float(text) / 1000, tz=UTC)
        except ValueError:
            return text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _time(data: bytes) -> time | str:
    try:
        return time.fromisoformat(_text(data))
    except ValueError:
        return _text(data)


_CONVERTERS = {"DATE": _date, "DATETIME": _instant, "TIMESTAMP": _instant, "TIME": _time}


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None)
    for name, converter in _CONVERTERS.items():
        sqlite3.register_converter(name, converter)
    return conn


class Query(RunnableTask):
    """Run a SQL query on a SQLite database file.

    `url` is `jdbc:sqlite:<file>`. With `sqliteFile` (a `kestra://` URI, e.g. a downloaded
    database, or inline content) that file is placed in the working directory first. Columns
    declared `date`, `datetime`/`timestamp` and `time` come back typed. `fetchType` and
    `parameters` work as for PostgreSQL.
    """

    type = "io.kestra.plugin.jdbc.sqlite.Query"
    title = "SQLite query"
    group = GROUP
    icon = "database"
    examples = (
        """\
id: sqlite
namespace: company.team
tasks:
  - id: download_db
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/app.db
  - id: q
    type: io.kestra.plugin.jdbc.sqlite.Query
    url: jdbc:sqlite:app.db
    sqliteFile: "{{ outputs.download_db.uri }}"
    sql: SELECT name, joined_on FROM users
    fetchType: FETCH
""",
    )

    class Properties(QueryProperties):
        url: str = dynamic("jdbc:sqlite:", description="`jdbc:sqlite:<file>`; empty means in memory.")
        sqliteFile: str | None = dynamic(None, description="Database file to start from (`kestra://` or content).")
        autoCommit: DynBool = dynamic(True, description="Commit each statement (forced off for STORE).")

    Outputs = QueryOutputs

    def run(self, ctx: RunContext, props: Properties) -> QueryOutputs:  # type: ignore[override]
        if not props.url.startswith("jdbc:sqlite:"):
            raise TaskFailed(f"url must look like jdbc:sqlite:app.db, got {props.url!r}")
        name = props.url[len("jdbc:sqlite:"):].split("?", 1)[0]
        if props.sqliteFile:
            path = work_file(ctx, os.path.basename(name) or "database.db")
            write_input(ctx, path, props.sqliteFile)
        elif name in ("", ":memory:"):
            path = ":memory:"
        else:
            path = name if os.path.isabs(name) else work_file(ctx, name)
        mode = fetch_type(props)
        conn = _connect(path)
        try:
            sql, values = bind(props.sql, props.parameters, "?")
            cur = conn.cursor()
            if not props.autoCommit or mode == "STORE":
                cur.execute("BEGIN")
            if values is None and mode == "NONE" and sql.count(";") > 1:
                cur.executescript(sql)
                out: dict[str, Any] = {}
            else:
                cur.execute(sql, values or [])
                out = collect(ctx, cur, mode, props.fetchSize, more_sets=False)
            if conn.in_transaction:
                conn.commit()
        except sqlite3.Error as error:
            raise TaskFailed(f"SQLite: {error}") from error
        finally:
            conn.close()
        return QueryOutputs(**out)


PLUGINS: list[type[Plugin]] = [Query]
