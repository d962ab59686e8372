"""PostgreSQL: `io.kestra.plugin.jdbc.postgresql.*` (PLUGINS.md §6.2-6.5) on psycopg 3.

The JDBC URL becomes a libpq conninfo whose `hostaddr` is the address the egress policy checked
(so DNS cannot swap it), `host` the name (for TLS). STORE reads through a server-side cursor,
CopyIn/CopyOut stream through COPY, Batch inserts in chunks: memory stays flat in the row count.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

import psycopg
from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Dyn,
    DynBool,
    DynInt,
    EgressDenied,
    Issue,
    Plugin,
    PollingTrigger,
    PollingTriggerProperties,
    PollResult,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    TriggerContext,
    ValidationContext,
    dynamic,
    egress_check_host,
    ion,
)
from plugins.jdbc._common import (
    ConnectionFields,
    QueryFields,
    QueryOutputs,
    QueryProperties,
    bind,
    collect,
    fetch_type,
    params_for,
    rows_of,
    split_statements,
    store,
)

GROUP = "io.kestra.plugin.jdbc.postgresql"
SslMode = Literal["DISABLE", "ALLOW", "PREFER", "REQUIRE", "VERIFY_CA", "VERIFY_FULL"]
FROM = Field(alias="from")


class SslFields(ConnectionFields):
    ssl: DynBool = dynamic(False, description="Use TLS.")
    sslMode: Annotated[SslMode, Dyn] | None = dynamic(None, description="libpq sslmode.")
    sslRootCert: str | None = dynamic(None, description="CA certificate (PEM text).")
    sslCert: str | None = dynamic(None, description="Client certificate (PEM text).")
    sslKey: str | None = dynamic(None, description="Client key (PEM text).")
    sslKeyPassword: str | None = dynamic(None, description="Password of the client key.")


class SslProperties(SslFields, TaskProperties):
    """A task's connection, with TLS."""


def conninfo(ctx: RunContext, props: Any) -> dict[str, Any]:
    """libpq keywords from a `jdbc:postgresql://host[:port]/db?k=v` URL and the task's properties."""
    url = props.url
    if not url.startswith("jdbc:postgresql://"):
        raise TaskFailed(f"url must look like jdbc:postgresql://host:5432/database, got {url!r}")
    parts = urlsplit(url[len("jdbc:"):])
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 5432
    except ValueError as error:
        raise TaskFailed(f"invalid port in {url!r}") from error
    try:
        target = egress_check_host("postgresql", host, port, what="PostgreSQL connection")
    except EgressDenied as error:
        raise TaskFailed(str(error)) from error
    query = dict(parse_qsl(parts.query))
    info: dict[str, Any] = {
        "host": host, "hostaddr": target.address, "port": port, "dbname": unquote(parts.path.lstrip("/")) or None,
        "user": props.username or query.get("user") or (unquote(parts.username) if parts.username else None),
        "password": props.password or query.get("password") or (unquote(parts.password) if parts.password else None),
        "connect_timeout": 10, "application_name": "weir",
    }
    mode = props.sslMode or query.get("sslmode", "").upper().replace("-", "_") or None
    if props.ssl and not mode:
        mode = "REQUIRE"
    info["sslmode"] = mode.lower().replace("_", "-") if mode else "prefer"
    for key, name in (("sslRootCert", "sslrootcert"), ("sslCert", "sslcert"), ("sslKey", "sslkey")):
        pem = getattr(props, key)
        if pem:
            fd, path = tempfile.mkstemp(suffix=".pem", dir=ctx.working_dir())
            with os.fdopen(fd, "w") as out:
                out.write(pem)
            os.chmod(path, 0o600)
            info[name] = path
    if props.sslKeyPassword:
        info["sslpassword"] = props.sslKeyPassword
    return {k: v for k, v in info.items() if v is not None}


_ISO_INTERVAL = re.compile(
    r"^P(?:(?P<y>-?\d+)Y)?(?:(?P<m>-?\d+)M)?(?:(?P<d>-?\d+)D)?"
    r"(?:T(?:(?P<h>-?\d+)H)?(?:(?P<mi>-?\d+)M)?(?:(?P<s>-?[\d.]+)S)?)?$"
)


class _IntervalLoader(psycopg.adapt.Loader):
    """`interval` as Kestra writes it: `P{y}Y{m}M{d}DT{h}H{mi}M{s}S` (timedelta would lose months)."""

    def load(self, data: Any) -> str:
        text = bytes(data).decode()
        match = _ISO_INTERVAL.match(text)
        if not match:
            return text
        g = {k: (v or "0") for k, v in match.groupdict().items()}
        return f"P{int(g['y'])}Y{int(g['m'])}M{int(g['d'])}DT{int(g['h'])}H{int(g['mi'])}M{float(g['s'])}S"


class _TextLoader(psycopg.adapt.Loader):
    def load(self, data: Any) -> str:
        return bytes(data).decode()


@contextmanager
def connect(ctx: RunContext, props: Any, autocommit: bool = True) -> Iterator[psycopg.Connection[Any]]:
    zone = getattr(props, "timeZoneId", None)
    if zone:
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError) as error:
            raise TaskFailed(f"unknown time zone {zone!r}") from error
    try:
        conn = psycopg.connect(**conninfo(ctx, props), autocommit=autocommit)
    except psycopg.Error as error:
        raise TaskFailed(f"cannot connect to PostgreSQL: {error}".strip()) from error
    try:
        conn.adapters.register_loader("interval", _IntervalLoader)
        for name in ("tsvector", "inet", "cidr", "macaddr"):
            conn.adapters.register_loader(name, _TextLoader)
        with conn.cursor() as cur:
            cur.execute("SET IntervalStyle = 'iso_8601'")
            if zone:
                cur.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        yield conn
    except psycopg.Error as error:
        raise TaskFailed(f"PostgreSQL: {str(error).strip()}") from error
    finally:
        conn.close()


def run_query(ctx: RunContext, conn: psycopg.Connection[Any], sql: str, parameters: Any, mode: str,
              fetch_size: int) -> dict[str, Any]:
    """One statement (or a parameterless script): STORE through a server-side cursor."""
    text, values = bind(sql, parameters, "%s")
    if mode == "STORE":
        with conn.cursor(name=f"weir_{ctx.task_run_id.lower()[:20]}") as named:
            named.itersize = fetch_size
            named.execute(text, values)
            if named.description is None:
                return {}
            uri, count = store(ctx, rows_of(named, fetch_size))
            ctx.metric("counter", "fetch.size", float(count), {"fetch": "false", "store": "true"})
            return {"uri": uri, "size": count}
    with conn.cursor() as cur:
        cur.execute(text, values)
        return collect(ctx, cur, mode, fetch_size)


_EXAMPLE_URL = "jdbc:postgresql://db.example.com:5432/shop"


class Query(RunnableTask):
    """Run a SQL query on PostgreSQL.

    `fetchType` says what comes back: FETCH_ONE (`row`), FETCH (`rows`, every row of every
    result set, in memory), STORE (an ION file in `uri`, streamed through a server-side cursor:
    for large results) or NONE (default). `parameters` binds `:name` placeholders (a `::cast`
    then breaks, as in Kestra: write `CAST(x AS int)`). Timestamps are typed per PLUGINS.md §6.1
    (`timestamp` local, `timestamptz` in `timeZoneId`), `interval` becomes `P…Y…M…DT…H…M…S`.

    The server must be allowed by the egress policy: a private or loopback database needs
    `WEIR_EGRESS_ALLOW`.
    """

    type = "io.kestra.plugin.jdbc.postgresql.Query"
    title = "PostgreSQL query"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: recent_orders
namespace: company.team
tasks:
  - id: query
    type: io.kestra.plugin.jdbc.postgresql.Query
    url: {_EXAMPLE_URL}
    username: "{{{{ secret('PG_USER') }}}}"
    password: "{{{{ secret('PG_PASS') }}}}"
    sql: SELECT id, total FROM orders WHERE total > :min
    parameters:
      min: 100
    fetchType: STORE
""",
    )

    class Properties(QueryProperties, SslProperties):
        autoCommit: DynBool = dynamic(True, description="Commit each statement (forced off for STORE).")

    Outputs = QueryOutputs

    def run(self, ctx: RunContext, props: Properties) -> QueryOutputs:  # type: ignore[override]
        mode = fetch_type(props)
        with connect(ctx, props, autocommit=props.autoCommit and mode != "STORE") as conn:
            out = run_query(ctx, conn, props.sql, props.parameters, mode, props.fetchSize)
            if not conn.autocommit:
                conn.commit()
        return QueryOutputs(**out)


class Queries(RunnableTask):
    """Run several SQL statements on PostgreSQL, in one transaction by default.

    The SQL is split on `;` (Kestra's rule: `;` followed by any character but a quote). Each
    statement is bound with `parameters`. With `transaction: true` (default) an error rolls every
    statement back; with `false` each statement is committed as it runs.

    Output: `outputs`, one `{row, rows, uri, size}` per statement that returned rows.
    """

    type = "io.kestra.plugin.jdbc.postgresql.Queries"
    title = "PostgreSQL queries"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: migrate
namespace: company.team
tasks:
  - id: migrate
    type: io.kestra.plugin.jdbc.postgresql.Queries
    url: {_EXAMPLE_URL}
    sql: "CREATE TABLE IF NOT EXISTS t(id int); INSERT INTO t VALUES (1); SELECT count(*) AS n FROM t;"
    fetchType: FETCH_ONE
""",
    )

    class Properties(QueryProperties, SslProperties):
        transaction: DynBool = dynamic(True, description="Run every statement in one transaction.")

    class Outputs(BaseModel):
        outputs: list[dict[str, Any]] | None = Field(None, description="One entry per statement returning rows.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        mode = fetch_type(props)
        results: list[dict[str, Any]] = []
        with connect(ctx, props, autocommit=False) as conn:
            try:
                for statement in split_statements(props.sql):
                    out = run_query(ctx, conn, statement, params_for(statement, props.parameters), mode,
                                    props.fetchSize)
                    if mode == "FETCH_ONE" and "size" in out:
                        out["size"] = 1
                    if out:
                        results.append(out)
                    if not props.transaction:
                        conn.commit()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        return self.Outputs(outputs=results)


class CopyProperties(SslProperties):
    table: str | None = dynamic(None, description="Table name.")
    columns: list[str] | None = dynamic(None, description="Columns to copy.")
    format: Annotated[Literal["TEXT", "CSV", "BINARY"], Dyn] = dynamic("TEXT", description="COPY format.")
    oids: DynBool | None = dynamic(None, description="OIDS option.")
    freeze: DynBool | None = dynamic(None, description="FREEZE option (COPY FROM).")
    delimiter: str | None = dynamic(None, description="Field delimiter (one character).")
    nullString: str | None = dynamic(None, description="String that stands for NULL.")
    header: DynBool | None = dynamic(None, description="CSV header line.")
    quote: str | None = dynamic(None, description="CSV quote character.")
    escape: str | None = dynamic(None, description="CSV escape character.")
    forceQuote: list[str] | None = dynamic(None, description="Columns always quoted (`[\"*\"]`: all).")
    forceNotNull: list[str] | None = dynamic(None, description="Columns never matched against NULL.")
    forceNull: list[str] | None = dynamic(None, description="Columns whose quoted empty value is NULL.")
    encoding: str | None = dynamic(None, description="File encoding.")


def copy_options(props: Any) -> str:
    """`WITH (…)` with the options that are set, values inserted as given (as Kestra does)."""
    opts: list[str] = []
    if props.format != "TEXT":
        opts.append(f"FORMAT {props.format}")
    if props.oids is not None:
        opts.append(f"OIDS {str(props.oids).upper()}")
    if props.freeze is not None:
        opts.append(f"FREEZE {str(props.freeze).upper()}")
    if props.delimiter is not None:
        opts.append(f"DELIMITER '{props.delimiter}'")
    if props.nullString is not None:
        opts.append(f"NULL '{props.nullString}'")
    if props.header is not None:
        opts.append(f"HEADER {str(props.header).upper()}")
    if props.quote is not None:
        opts.append(f"QUOTE '{props.quote}'")
    if props.escape is not None:
        opts.append(f"ESCAPE '{props.escape}'")
    if props.forceQuote:
        opts.append("FORCE_QUOTE *" if props.forceQuote == ["*"] else f"FORCE_QUOTE ({', '.join(props.forceQuote)})")
    if props.forceNotNull:
        opts.append(f"FORCE_NOT_NULL ({', '.join(props.forceNotNull)})")
    if props.forceNull:
        opts.append(f"FORCE_NULL ({', '.join(props.forceNull)})")
    if props.encoding is not None:
        opts.append(f"ENCODING '{props.encoding}'")
    return f" WITH ({', '.join(opts)})" if opts else ""


def _columns(props: Any) -> str:
    return f" ({', '.join(props.columns)})" if props.columns else ""


class CopyIn(RunnableTask):
    """Load a stored file into a PostgreSQL table with `COPY … FROM STDIN`.

    The file (`from`, a `kestra://` URI) is streamed to the server in chunks, so its size does not
    matter. `format` (TEXT, CSV, BINARY) and the COPY options (`header`, `delimiter`,
    `nullString`, …) are passed through.

    Output: `rowCount`. Metric: `rows`.
    """

    type = "io.kestra.plugin.jdbc.postgresql.CopyIn"
    title = "PostgreSQL COPY IN"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: load
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/orders.csv
  - id: load
    type: io.kestra.plugin.jdbc.postgresql.CopyIn
    url: {_EXAMPLE_URL}
    table: staging_orders
    from: "{{{{ outputs.download.uri }}}}"
    format: CSV
    header: true
""",
    )

    class Properties(CopyProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the file to load.")

    class Outputs(BaseModel):
        rowCount: int | None = Field(None, description="Rows copied.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        if not props.table:
            raise TaskFailed("CopyIn needs `table`")
        statement = f"COPY {props.table}{_columns(props)} FROM STDIN{copy_options(props)}"
        try:
            source = ctx.open_file(props.from_)
        except (FileNotFoundError, OSError, ValueError) as error:
            raise TaskFailed(f"cannot read {props.from_}: {error}") from error
        with source, connect(ctx, props, autocommit=False) as conn:
            with conn.cursor() as cur:
                with cur.copy(statement) as copy:  # type: ignore[arg-type]
                    while chunk := source.read(1 << 20):
                        copy.write(chunk)
                count = cur.rowcount
            conn.commit()
        ctx.metric("counter", "rows", float(count))
        return self.Outputs(rowCount=count)


class CopyOut(RunnableTask):
    """Export a PostgreSQL table or query to a stored file with `COPY … TO STDOUT`.

    Give `sql` to export a query, else the whole `table` is exported. The data streams to the file.

    Outputs: `uri` and `rowCount`. Metric: `rows`.
    """

    type = "io.kestra.plugin.jdbc.postgresql.CopyOut"
    title = "PostgreSQL COPY OUT"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: export
namespace: company.team
tasks:
  - id: export
    type: io.kestra.plugin.jdbc.postgresql.CopyOut
    url: {_EXAMPLE_URL}
    sql: SELECT * FROM orders WHERE total > 100
    format: CSV
    header: true
""",
    )

    class Properties(CopyProperties):
        sql: str | None = dynamic(None, description="Query to export (default: the whole `table`).")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the exported file.")
        rowCount: int | None = Field(None, description="Rows exported.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        if not props.sql and not props.table:
            raise TaskFailed("CopyOut needs `sql` or `table`")
        source = f"({props.sql})" if props.sql else f"{props.table}{_columns(props)}"
        statement = f"COPY {source} TO STDOUT{copy_options(props)}"
        fd, path = tempfile.mkstemp(suffix=".tmp", dir=ctx.working_dir())
        with os.fdopen(fd, "wb") as out, connect(ctx, props) as conn, conn.cursor() as cur:
            with cur.copy(statement) as copy:  # type: ignore[arg-type]
                for data in copy:
                    out.write(data)
            count = cur.rowcount
        ctx.metric("counter", "rows", float(count))
        return self.Outputs(uri=ctx.put_path(path), rowCount=count)


class Batch(RunnableTask):
    """Insert the rows of an ION file into PostgreSQL, `chunk` rows per round trip.

    Give `sql` with one `?` per value (values taken in each row's field order, or `columns`
    order), or `table` (and optionally `columns`) to build the INSERT from the first row's fields.

    Outputs: `rowCount` (rows read) and `updatedCount` (rows the statements changed).
    """

    type = "io.kestra.plugin.jdbc.postgresql.Batch"
    title = "PostgreSQL batch insert"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: batch
namespace: company.team
tasks:
  - id: query
    type: io.kestra.plugin.jdbc.postgresql.Query
    url: {_EXAMPLE_URL}
    sql: SELECT id, total FROM orders
    fetchType: STORE
  - id: insert
    type: io.kestra.plugin.jdbc.postgresql.Batch
    url: {_EXAMPLE_URL}
    from: "{{{{ outputs.query.uri }}}}"
    table: orders_copy
""",
    )

    class Properties(SslProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of an ION file of rows.")
        sql: str | None = dynamic(None, description="INSERT with one `?` per value.")
        table: str | None = dynamic(None, description="Table to insert into (builds the INSERT).")
        columns: list[str] | None = dynamic(None, description="Columns, in value order.")
        chunk: DynInt = dynamic(1000, description="Rows per round trip.")

    class Outputs(BaseModel):
        rowCount: int | None = Field(None, description="Rows read.")
        updatedCount: int | None = Field(None, description="Rows inserted or updated.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        if not props.sql and not props.table:
            raise TaskFailed("Batch needs `sql` or `table`")
        if props.chunk < 1:
            raise TaskFailed("`chunk` must be at least 1")
        rows = updated = 0
        statement: str | None = props.sql.replace("%", "%%").replace("?", "%s") if props.sql else None
        try:
            source = ctx.open_file(props.from_)
        except (FileNotFoundError, OSError, ValueError) as error:
            raise TaskFailed(f"cannot read {props.from_}: {error}") from error
        with source, connect(ctx, props, autocommit=False) as conn, conn.cursor() as cur:
            pending: list[list[Any]] = []
            for raw in source:
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                value = ion.loads(line)
                if isinstance(value, dict):
                    names = props.columns or list(value)
                    values = [value.get(n) for n in names]
                    if statement is None:
                        statement = (f"INSERT INTO {props.table} ({', '.join(names)}) "
                                     f"VALUES ({', '.join(['%s'] * len(names))})")
                else:
                    values = list(value) if isinstance(value, list) else [value]
                    if statement is None:
                        cols = f" ({', '.join(props.columns)})" if props.columns else ""
                        statement = f"INSERT INTO {props.table}{cols} VALUES ({', '.join(['%s'] * len(values))})"
                pending.append(values)
                rows += 1
                if len(pending) >= props.chunk:
                    updated += _flush(cur, statement, pending)
            if pending and statement:
                updated += _flush(cur, statement, pending)
            conn.commit()
        return self.Outputs(rowCount=rows, updatedCount=updated)


def _flush(cur: psycopg.Cursor[Any], statement: str, pending: list[list[Any]]) -> int:
    cur.executemany(statement, pending)  # type: ignore[arg-type]
    count = max(cur.rowcount, 0)
    pending.clear()
    return count


class _Polling:
    """What the query helpers need of a context, for a trigger evaluation: no storage, no
    metrics; certificates go to a private temporary folder."""

    def __init__(self, ctx: TriggerContext) -> None:
        self.trigger = ctx
        self.task_run_id = f"trigger_{ctx.trigger_id}"
        self._folder = tempfile.mkdtemp(prefix="weir-jdbc-trigger-")

    def working_dir(self) -> str:
        return self._folder

    def metric(self, kind: str, name: str, value: float, tags: Any = None) -> None:
        return None

    def log(self, level: str, message: str) -> None:
        self.trigger.log(level, message)


class Trigger(PollingTrigger):
    """Run a query every `interval` and start an execution when it returns rows (PLUGINS.md §6.5).

    With `fetchType: FETCH_ONE` the execution gets `trigger.row`, with FETCH `trigger.rows`; both
    set `trigger.size`. The default NONE never fires. STORE is not offered here (a trigger has no
    execution to store a file in yet): use FETCH, or a Query task in the flow. Typically the flow
    then marks the rows it handled, so the next evaluation does not see them again.
    """

    type = "io.kestra.plugin.jdbc.postgresql.Trigger"
    title = "PostgreSQL trigger"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: outbox
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.rows }}}}"
triggers:
  - id: new_rows
    type: io.kestra.plugin.jdbc.postgresql.Trigger
    url: {_EXAMPLE_URL}
    username: "{{{{ secret('PG_USER') }}}}"
    password: "{{{{ secret('PG_PASS') }}}}"
    sql: SELECT * FROM outbox WHERE sent = false
    fetchType: FETCH
    interval: PT30S
""",
    )

    class Properties(QueryFields, SslFields, PollingTriggerProperties):
        pass

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        if raw.get("fetchType") == "STORE" or raw.get("store"):
            yield ("fetchType",), ("STORE is not available on the trigger (there is no execution to store the "
                                   "file in yet): use FETCH or FETCH_ONE")

    def evaluate(self, ctx: TriggerContext, props: Any) -> PollResult | None:
        rendered = props.model_copy(update={
            name: ctx.render(getattr(props, name)) for name in (
                "url", "username", "password", "sql", "parameters", "timeZoneId", "sslRootCert", "sslCert",
                "sslKey", "sslKeyPassword")})
        mode = fetch_type(rendered)
        if mode not in ("FETCH", "FETCH_ONE"):
            return None  # NONE never fires (PLUGINS.md §6.5)
        polling = _Polling(ctx)
        try:
            with connect(polling, rendered) as conn:  # type: ignore[arg-type]
                out = run_query(polling, conn, rendered.sql, rendered.parameters, mode,  # type: ignore[arg-type]
                                rendered.fetchSize)
        except TaskFailed as error:
            raise ValueError(str(error)) from error
        finally:
            import shutil

            shutil.rmtree(polling.working_dir(), ignore_errors=True)
        if not out.get("size"):
            return None
        return PollResult(variables=out)


PLUGINS: list[type[Plugin]] = [Query, Queries, CopyIn, CopyOut, Batch, Trigger]
