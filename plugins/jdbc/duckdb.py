"""DuckDB: `io.kestra.plugin.jdbc.duckdb.Query` (PLUGINS.md §6.7).

Each run gets a database file in its working directory (or the absolute file of its URL),
`inputFiles` written next to it and `outputFiles` pre-created there. DuckDB is confined to that
directory: external access is off except for it, extensions are never installed or loaded, and
the configuration is locked, so SQL cannot read the worker's files or reach the network (the
egress policy has no way to see DuckDB's own HTTP client).
"""

from __future__ import annotations

import os
from typing import Any

import duckdb as duck
from pydantic import Field

from apps.plugins.sdk import Plugin, RunContext, RunnableTask, TaskFailed, dynamic
from plugins.jdbc._common import (
    QueryOutputs,
    QueryProperties,
    bind,
    collect,
    fetch_type,
    work_file,
    write_input,
)

GROUP = "io.kestra.plugin.jdbc.duckdb"


def connect(path: str, allowed: list[str]) -> duck.DuckDBPyConnection:
    conn = duck.connect(path, config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    conn.execute("SET allowed_directories = ?", [allowed])
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return conn


class Query(RunnableTask):
    """Run SQL on DuckDB, e.g. to aggregate CSV or Parquet files with SQL.

    `url` defaults to `jdbc:duckdb:`: a new database file in the working directory.
    `jdbc:duckdb:/abs/file.db` uses that file. `inputFiles` (`{name: kestra:// URI or content}`)
    are written into the working directory, and `outputFiles` (names) are created there and
    uploaded afterwards. The SQL may use `{{ workingDir }}`, `{{ dbFilePath }}` and
    `{{ outputFiles.<name> }}`. DuckDB may only read and write inside the working directory.

    Outputs: `row`, `rows`, `uri`, `size` (per `fetchType`) and `outputFiles`.
    """

    type = "io.kestra.plugin.jdbc.duckdb.Query"
    title = "DuckDB query"
    group = GROUP
    icon = "database"
    examples = (
        """\
id: duckdb
namespace: company.team
tasks:
  - id: fetch_csv
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/orders.csv
  - id: agg
    type: io.kestra.plugin.jdbc.duckdb.Query
    inputFiles:
      orders.csv: "{{ outputs.fetch_csv.uri }}"
    outputFiles:
      - by_day
    sql: |
      COPY (SELECT date, sum(total) t FROM read_csv_auto('{{ workingDir }}/orders.csv') GROUP BY 1)
      TO '{{ outputFiles.by_day }}' (HEADER, DELIMITER ',');
""",
    )

    class Properties(QueryProperties):
        url: str = dynamic("jdbc:duckdb:", description="`jdbc:duckdb:` (a new file) or `jdbc:duckdb:/abs/file.db`.")
        sql: str = Field(description="The SQL; rendered at run time with workingDir, dbFilePath and outputFiles.")
        inputFiles: dict[str, str] | None = dynamic(None, description="Files to create: `{name: URI or content}`.")
        outputFiles: list[str] | None = dynamic(None, description="Files to create empty and upload afterwards.")

    class Outputs(QueryOutputs):
        outputFiles: dict[str, str] | None = Field(None, description="Uploaded output files: name → URI.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        if not props.url.startswith("jdbc:duckdb:"):
            raise TaskFailed(f"url must be jdbc:duckdb: or jdbc:duckdb:/abs/file.db, got {props.url!r}")
        workdir = os.path.realpath(ctx.working_dir())
        target = props.url[len("jdbc:duckdb:"):].split("?", 1)[0]
        if target and not os.path.isabs(target):
            raise TaskFailed(f"a DuckDB file must be an absolute path, got {target!r}")
        db_path = target or work_file(ctx, f"{ctx.task_run_id}.db")
        for name, content in (props.inputFiles or {}).items():
            write_input(ctx, work_file(ctx, name), str(content))
        outputs: dict[str, str] = {}
        for name in props.outputFiles or []:
            path = work_file(ctx, name)
            open(path, "wb").close()
            outputs[name] = path
        sql = ctx.render_with(props.sql, {"workingDir": workdir, "dbFilePath": db_path, "outputFiles": outputs})
        mode = fetch_type(props)
        allowed = [workdir + os.sep, os.path.dirname(db_path) + os.sep]
        try:
            conn = connect(db_path, allowed)
            try:
                text, values = bind(sql, props.parameters, "?")
                cur = conn.cursor()
                cur.execute(text, values)
                out: dict[str, Any] = collect(ctx, cur, mode, props.fetchSize, more_sets=False)
            finally:
                conn.close()
        except duck.Error as error:
            raise TaskFailed(f"DuckDB: {error}") from error
        uploaded = {name: ctx.put_path(path, name) for name, path in outputs.items()}
        return self.Outputs(**out, outputFiles=uploaded or None)


PLUGINS: list[type[Plugin]] = [Query]
