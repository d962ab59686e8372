"""SQL tasks on real databases: this machine's PostgreSQL (a scratch database per test module),
SQLite and DuckDB files. Source files come from a local HTTP server through http.Download."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from pytest_httpserver import HTTPServer

from apps.plugins import egress, ion
from tests.plugins.flowrun import eager, execute, read, root

__all__ = ["eager", "root"]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
NS = "weir.sql"


@pytest.fixture(scope="module")
def scratch_db() -> Iterator[dict[str, Any]]:
    """A throw-away database on the server of DATABASE_URL."""
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    name = f"weir_jdbc_{uuid.uuid4().hex[:8]}"
    admin = dict(host=server.hostname or "127.0.0.1", port=server.port or 5432, user=server.username or "postgres",
                 password=server.password or None, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(f"CREATE DATABASE {name}")
    info = {**admin, "dbname": name, "url": f"jdbc:postgresql://{admin['host']}:{admin['port']}/{name}"}
    yield info
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def allow_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")


def sql(info: dict[str, Any], text: str) -> list[tuple[Any, ...]]:
    params = {k: v for k, v in info.items() if k != "url"}
    with psycopg.connect(**params) as conn:  # type: ignore[arg-type]
        cur = conn.execute(text)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def conn_props(info: dict[str, Any]) -> str:
    return f"url: {info['url']}\n            username: {info['user']}"


def test_query_fetch_modes_and_types(scratch_db: dict[str, Any], allow_local: None, root: Any, eager: None) -> None:
    sql(scratch_db, """
        CREATE TABLE typed (id int, name text, total numeric(10,2), at timestamp, atz timestamptz, day date,
                            span interval, doc jsonb, tags text[], uid uuid, raw bytea);
        INSERT INTO typed VALUES
          (1, 'a', 12.50, '2024-01-15 10:00', '2024-01-15 10:00+00', '2024-01-15', '1 year 2 mons 3 days 04:05:06',
           '{"k": [1]}', '{x,y}', '7d444840-9dc0-11d1-b245-5ffdce74fad2', '\\x6869'),
          (2, 'b', 5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    """)
    c = conn_props(scratch_db)
    ran = execute(root, f"""\
        id: pg_query
        namespace: {NS}
        tasks:
          - id: one
            type: io.kestra.plugin.jdbc.postgresql.Query
            {c}
            sql: SELECT * FROM typed WHERE id = :id
            parameters:
              id: 1
            fetchType: FETCH_ONE
            timeZoneId: Europe/Paris
          - id: all
            type: io.kestra.plugin.jdbc.postgresql.Query
            {c}
            sql: SELECT id, name FROM typed ORDER BY id
            fetchType: FETCH
          - id: stored
            type: io.kestra.plugin.jdbc.postgresql.Query
            {c}
            sql: SELECT id, total, at, atz, day, span FROM typed ORDER BY id
            fetchType: STORE
            timeZoneId: Europe/Paris
          - id: none
            type: io.kestra.plugin.jdbc.postgresql.Query
            {c}
            sql: UPDATE typed SET name = 'z' WHERE id = 2
          - id: legacy
            type: io.kestra.plugin.jdbc.postgresql.Query
            {c}
            sql: SELECT count(*) AS n FROM typed WHERE name = 'z'
            fetchOne: true
        """)
    assert ran.state == "SUCCESS", ran.logs()
    row = ran.outputs("one")["row"]
    assert row["total"] == 12.5 and row["at"] == "2024-01-15T10:00:00" and row["day"] == "2024-01-15"
    assert row["atz"] == "2024-01-15T11:00:00+01:00" and row["span"] == "P1Y2M3DT4H5M6.0S"
    assert row["doc"] == {"k": [1]} and row["tags"] == ["x", "y"]
    assert row["uid"] == "7d444840-9dc0-11d1-b245-5ffdce74fad2" and row["raw"] == "aGk="
    assert ran.outputs("one")["size"] == 1
    assert ran.outputs("all")["rows"] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert ran.outputs("all")["size"] == 2
    stored = ran.outputs("stored")
    assert stored["size"] == 2
    lines = read(stored["uri"]).decode().splitlines()
    assert lines[0] == ('{id:1,total:12.50,at:LocalDateTime::"2024-01-15T10:00:00",'
                        'atz:ZonedDateTime::"2024-01-15T11:00:00+01:00[Europe/Paris]",day:2024-01-15,'
                        'span:"P1Y2M3DT4H5M6.0S"}')
    assert lines[1] == "{id:2,total:5.00,at:null,atz:null,day:null,span:null}"
    assert "size" not in {k for k, v in ran.outputs("none").items() if v is not None}
    assert ran.outputs("legacy")["row"] == {"n": 1}


def test_queries_transaction_rolls_back(scratch_db: dict[str, Any], allow_local: None, root: Any,
                                        eager: None) -> None:
    c = conn_props(scratch_db)
    ran = execute(root, f"""\
        id: pg_queries
        namespace: {NS}
        tasks:
          - id: ok
            type: io.kestra.plugin.jdbc.postgresql.Queries
            {c}
            sql: "CREATE TABLE IF NOT EXISTS q(id int); INSERT INTO q VALUES (1); SELECT count(*) AS n FROM q;"
            fetchType: FETCH_ONE
          - id: broken
            type: io.kestra.plugin.jdbc.postgresql.Queries
            {c}
            sql: "INSERT INTO q VALUES (2); SELECT nope FROM q;"
            allowFailure: true
        """)
    assert ran.outputs("ok")["outputs"] == [{"row": {"n": 1}, "size": 1}]
    assert ran.task_state("broken") == "WARNING"
    assert sql(scratch_db, "SELECT count(*) FROM q") == [(1,)]


def test_copy_in_out_and_batch(scratch_db: dict[str, Any], allow_local: None, httpserver: HTTPServer,
                               root: Any, eager: None) -> None:
    sql(scratch_db, "CREATE TABLE orders (id int, customer text, total numeric); CREATE TABLE copy2 (LIKE orders)")
    body = "id,customer,total\n" + "".join(f"{i},c{i % 3},{i * 1.5}\n" for i in range(1, 1001))
    httpserver.expect_request("/orders.csv").respond_with_data(body)
    c = conn_props(scratch_db)
    ran = execute(root, f"""\
        id: pg_copy
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/orders.csv')}"
          - id: load
            type: io.kestra.plugin.jdbc.postgresql.CopyIn
            {c}
            table: orders
            from: "{{{{ outputs.fetch.uri }}}}"
            format: CSV
            header: true
          - id: export
            type: io.kestra.plugin.jdbc.postgresql.CopyOut
            {c}
            sql: SELECT id, customer FROM orders WHERE id <= 2 ORDER BY id
            format: CSV
            header: true
            delimiter: ";"
          - id: stored
            type: io.kestra.plugin.jdbc.postgresql.Query
            {c}
            sql: SELECT id, customer, total FROM orders
            fetchType: STORE
          - id: batch
            type: io.kestra.plugin.jdbc.postgresql.Batch
            {c}
            from: "{{{{ outputs.stored.uri }}}}"
            table: copy2
            chunk: 300
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("load")["rowCount"] == 1000
    assert sql(scratch_db, "SELECT count(*), sum(total) FROM orders")[0][0] == 1000
    assert read(ran.outputs("export")["uri"]).decode() == "id;customer\n1;c1\n2;c2\n"
    assert ran.outputs("export")["rowCount"] == 2
    assert ran.outputs("batch") == {"rowCount": 1000, "updatedCount": 1000}
    assert sql(scratch_db, "SELECT count(*) FROM copy2") == [(1000,)]


def test_database_on_loopback_is_refused_by_default(scratch_db: dict[str, Any], root: Any, eager: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(egress.ENV, raising=False)
    ran = execute(root, f"""\
        id: pg_refused
        namespace: {NS}
        tasks:
          - id: q
            type: io.kestra.plugin.jdbc.postgresql.Query
            {conn_props(scratch_db)}
            sql: SELECT 1
        """)
    assert ran.task_state("q") == "FAILED"
    assert any("destination not allowed" in line for line in ran.logs("q"))


def test_sqlite_query(tmp_path: Any, root: Any, eager: None) -> None:
    db = tmp_path / "app.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.executescript("""
            CREATE TABLE users (id integer, name text, joined_on date, seen datetime, at time);
            INSERT INTO users VALUES (1, 'ann', '2024-01-15', '2024-01-15 10:00:00', '10:30:00'), (2, 'bob', NULL, NULL, NULL);
        """)
    ran = execute(root, f"""\
        id: sqlite_q
        namespace: {NS}
        tasks:
          - id: q
            type: io.kestra.plugin.jdbc.sqlite.Query
            url: "jdbc:sqlite:{db}"
            sql: SELECT * FROM users WHERE id >= :min ORDER BY id
            parameters:
              min: 1
            fetchType: FETCH
          - id: stored
            type: io.kestra.plugin.jdbc.sqlite.Query
            url: "jdbc:sqlite:{db}"
            sql: SELECT id, joined_on, seen FROM users ORDER BY id
            fetchType: STORE
        """)
    assert ran.state == "SUCCESS", ran.logs()
    rows = ran.outputs("q")["rows"]
    assert rows[0] == {"id": 1, "name": "ann", "joined_on": "2024-01-15", "seen": "2024-01-15T10:00:00+00:00",
                       "at": "10:30:00"}
    assert read(ran.outputs("stored")["uri"]).decode().splitlines()[0] == (
        "{id:1,joined_on:2024-01-15,seen:2024-01-15T10:00:00.000Z}")


def test_duckdb_query_files_and_confinement(httpserver: HTTPServer, allow_local: None, root: Any,
                                            eager: None) -> None:
    httpserver.expect_request("/orders.csv").respond_with_data("day,total\nmon,1\nmon,2\ntue,5\n")
    ran = execute(root, f"""\
        id: duck
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/orders.csv')}"
          - id: agg
            type: io.kestra.plugin.jdbc.duckdb.Query
            inputFiles:
              orders.csv: "{{{{ outputs.fetch.uri }}}}"
            outputFiles:
              - by_day
            sql: |
              COPY (SELECT day, sum(total) AS t FROM read_csv_auto('{{{{ workingDir }}}}/orders.csv')
                    GROUP BY 1 ORDER BY 1) TO '{{{{ outputFiles.by_day }}}}' (HEADER, DELIMITER ',');
          - id: fetched
            type: io.kestra.plugin.jdbc.duckdb.Query
            sql: SELECT 42::TINYINT AS answer, 'x' AS name
            fetchType: FETCH_ONE
          - id: escape
            type: io.kestra.plugin.jdbc.duckdb.Query
            sql: SELECT * FROM read_csv('/etc/passwd')
            fetchType: FETCH
            allowFailure: true
        """)
    assert read(ran.outputs("agg")["outputFiles"]["by_day"]).decode() == "day,t\nmon,3\ntue,5\n"
    assert ran.outputs("fetched")["row"] == {"answer": 42, "name": "x"}
    assert ran.task_state("escape") == "WARNING"
    assert any("disabled by configuration" in line for line in ran.logs("escape"))


def test_ion_written_by_store_reads_back() -> None:
    assert ion.loads('{id:1,total:12.50,day:2024-01-15}')["total"].as_tuple().exponent == -2
