"""What every JDBC-style query task shares (PLUGINS.md §6.1): properties, the `:name` parameter
rewrite, fetch modes, cell conversion and the STORE writer.

Drivers are DB-API cursors (psycopg, sqlite3, duckdb); a driver module supplies the connection
and its placeholder.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from apps.plugins.sdk import Dyn, DynInt, Properties, RunContext, TaskFailed, TaskProperties, dynamic, ion

FetchType = Literal["FETCH_ONE", "FETCH", "STORE", "NONE"]

_PARAM = re.compile(r":\w+")


class ConnectionFields(Properties):
    """Where to connect (PLUGINS.md §6.1); shared by the tasks and the polling trigger."""

    url: str = dynamic(description="JDBC URL, e.g. `jdbc:postgresql://host:5432/db`.")
    username: str | None = dynamic(None, description="Database user.")
    password: str | None = dynamic(None, description="Database password.")


class ConnectionProperties(ConnectionFields, TaskProperties):
    """A task's connection properties."""


class QueryFields(ConnectionFields):
    """A query and how its results come back."""

    sql: str = dynamic(description="The SQL to run.")
    parameters: dict[str, Any] | None = dynamic(
        None, description="Values bound to `:name` placeholders (each `:name` in order of appearance).")
    fetchType: Annotated[FetchType, Dyn] = dynamic(
        "NONE", description="FETCH_ONE: `row`; FETCH: `rows`; STORE: an ION file in `uri`; NONE: nothing.")
    fetchSize: DynInt = dynamic(10000, description="Rows fetched per round trip.")
    timeZoneId: str | None = dynamic(None, description="Zone for timestamps (default: the worker's).")
    fetch: bool = Field(False, description="Deprecated: use `fetchType: FETCH`.")
    fetchOne: bool = Field(False, description="Deprecated: use `fetchType: FETCH_ONE`.")
    store: bool = Field(False, description="Deprecated: use `fetchType: STORE`.")


class QueryProperties(QueryFields, TaskProperties):
    """A query task's properties."""


class QueryOutputs(BaseModel):
    row: dict[str, Any] | None = Field(None, description="FETCH_ONE: the first row (null when none).")
    rows: list[dict[str, Any]] | None = Field(None, description="FETCH: every row.")
    uri: str | None = Field(None, description="STORE: `kestra://` URI of the ION file of rows.")
    size: int | None = Field(None, description="Rows fetched (set when the statement returned rows).")


def fetch_type(props: Any) -> str:
    """The deprecated flags win, checked in Kestra's order: fetch, fetchOne, store."""
    if props.fetch:
        return "FETCH"
    if props.fetchOne:
        return "FETCH_ONE"
    if props.store:
        return "STORE"
    return str(props.fetchType)


def bind(sql: str, parameters: Mapping[str, Any] | None, placeholder: str) -> tuple[str, list[Any] | None]:
    """Replace each `:name` by the driver's placeholder, in order (Kestra's regex, quirks included:
    `x::int` loses its cast when parameters are set). Without parameters the SQL is untouched."""
    if parameters is None:
        return sql, None
    values: list[Any] = []

    def swap(match: re.Match[str]) -> str:
        name = match.group(0)[1:]
        if name not in parameters:
            raise TaskFailed(f"parameter :{name} has no value in `parameters` (given: {', '.join(parameters)})")
        values.append(parameters[name])
        return placeholder

    if placeholder == "%s":
        sql = sql.replace("%", "%%")
    return _PARAM.sub(swap, sql), values


def jsonable(value: Any) -> Any:
    """A cell as it appears in FETCH outputs: temporal values as ISO strings, bytes as base64."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, timedelta):
        return ion.iso_duration(value)
    return str(value)


def cell(value: Any) -> Any:
    """A driver value as Kestra types it: UUIDs (and other objects) become strings."""
    if value is None or isinstance(value, str | bool | int | float | Decimal | datetime | date | time | bytes
                                   | dict | list):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def rows_of(cursor: Any, size: int) -> Iterator[dict[str, Any]]:
    """Rows of the current result set as ordered maps keyed by column label, `size` per fetch."""
    names = [d[0] for d in cursor.description]
    while True:
        batch = cursor.fetchmany(size)
        if not batch:
            return
        for row in batch:
            yield dict(zip(names, map(cell, row), strict=False))


def store(ctx: RunContext, rows: Iterator[dict[str, Any]]) -> tuple[str, int]:
    """Write rows to a local ION file, one struct per line, and upload it."""
    fd, path = tempfile.mkstemp(suffix=".ion", dir=ctx.working_dir())
    count = 0
    with open(fd, "w", encoding="utf-8", buffering=1 << 20) as out:
        write, dumps = out.write, ion.dumps
        for row in rows:
            write(dumps(row) + "\n")
            count += 1
    return ctx.put_path(path), count


def collect(ctx: RunContext, cursor: Any, mode: str, fetch_size: int, more_sets: bool = True) -> dict[str, Any]:
    """The outputs of an executed statement (PLUGINS.md §6.1 step 3)."""
    if cursor.description is None:
        return {}
    out: dict[str, Any] = {}
    if mode == "FETCH_ONE":
        first = next(rows_of(cursor, 1), None)
        out = {"row": {k: jsonable(v) for k, v in first.items()} if first is not None else None,
               "size": 1 if first is not None else 0}
    elif mode == "FETCH":
        rows: list[dict[str, Any]] = []
        while True:
            if cursor.description is not None:
                rows.extend({k: jsonable(v) for k, v in r.items()} for r in rows_of(cursor, fetch_size))
            if not (more_sets and hasattr(cursor, "nextset") and cursor.nextset()):
                break
        out = {"rows": rows, "size": len(rows)}
    elif mode == "STORE":
        uri, count = store(ctx, rows_of(cursor, fetch_size))
        out = {"uri": uri, "size": count}
    else:
        return {}
    ctx.metric("counter", "fetch.size", float(out["size"]),
               {"fetch": str(mode in ("FETCH", "FETCH_ONE")).lower(), "store": str(mode == "STORE").lower()})
    return out


def work_file(ctx: RunContext, name: str) -> str:
    """A path named `name` inside the working directory (no escaping it)."""
    root = os.path.realpath(ctx.working_dir())
    path = os.path.realpath(os.path.join(root, name))
    if not path.startswith(root + os.sep):
        raise TaskFailed(f"file name {name!r} would be outside the working directory")
    return path


def write_input(ctx: RunContext, path: str, content: str) -> None:
    """Write a `kestra://` file or inline text to a local path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        if content.startswith("kestra://"):
            with ctx.open_file(content) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        else:
            out.write(content.encode("utf-8"))


def params_for(sql: str, parameters: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The subset of `parameters` a statement uses (Queries binds each statement separately)."""
    if parameters is None:
        return None
    used = {m.group(0)[1:] for m in _PARAM.finditer(sql)}
    return {k: v for k, v in parameters.items() if k in used}


def split_statements(sql: str) -> Sequence[str]:
    """Kestra's `;[^']` split: the character after each `;` is eaten; empty pieces dropped."""
    return [part for part in re.split(r";[^']", sql) if part.strip()]
