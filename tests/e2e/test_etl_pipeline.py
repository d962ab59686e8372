"""The ETL pipeline end to end on real components: a Celery worker process, this machine's
PostgreSQL (the test database for Weir, a scratch database for the warehouse) and Redis, a local
HTTP server for the orders export and another for Slack.

`examples/etl` (deployed with `weir flow deploy examples/etl --namespace demo.etl`) uses a Python
Script task for its transform step; its test runs when the scripts plugin is registered. The
same pipeline with the transform done by DuckDB runs in every case, so Download → transform →
CopyIn → Query → Slack, and the failure alert, are always proven on a real worker.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.plugins.registry import registry
from tests.faults import faultkit

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ORDERS = (
    "order_id,ordered_at,customer,quantity,unit_price,status\n"
    "1,2026-12-01T09:00:00Z,Ann,2,10.00,paid\n"
    "2,2026-12-01T10:00:00Z,ann ,1,5.50,paid\n"
    "3,2026-12-01T11:00:00Z,Bob,3,2.00,cancelled\n"
    "4,2026-12-01T12:00:00Z,Bob,x,2.00,paid\n"
    "5,2026-12-02T08:00:00Z,Bob,4,2.50,paid\n"
    "6,2026-12-02T09:00:00Z,Cy,1,abc,paid\n"
)
EXPECTED = [("2026-12-01", "ann", 3, "25.50"), ("2026-12-02", "bob", 4, "10.00")]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def warehouse() -> Iterator[dict[str, Any]]:
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    admin = dict(host=server.hostname or "127.0.0.1", port=server.port or 5432, user=server.username or "postgres",
                 dbname="postgres", autocommit=True)
    name = f"weir_etl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(f"CREATE DATABASE {name}")
    yield {**admin, "dbname": name, "url": f"jdbc:postgresql://{admin['host']}:{admin['port']}/{name}"}
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def endpoints(httpserver: HTTPServer) -> tuple[HTTPServer, list[dict[str, Any]]]:
    posts: list[dict[str, Any]] = []

    def slack(request: Request) -> Response:
        posts.append(json.loads(request.get_data(as_text=True)))
        return Response("ok")

    httpserver.expect_request("/exports/orders.csv").respond_with_data(ORDERS, content_type="text/csv")
    httpserver.expect_request("/slack", method="POST").respond_with_handler(slack)
    return httpserver, posts


@pytest.fixture
def worker(tmp_path: Path, endpoints: tuple[HTTPServer, list[dict[str, Any]]]) -> Iterator[faultkit.Service]:
    server, _ = endpoints
    env = faultkit.service_env(tmp_path, WEIR_EGRESS_ALLOW="127.0.0.1", SECRET_PG_USER=b64("postgres"),
                               SECRET_PG_PASSWORD=b64("not-needed-with-trust"),
                               SECRET_SLACK_WEBHOOK=b64(server.url_for("/slack")))
    service = faultkit.worker("etl-worker", env, tmp_path, concurrency=1).start()
    try:
        service.wait_ready(60)
        yield service
    finally:
        service.stop()


def run(namespace: str, flow_id: str, inputs: dict[str, Any]) -> tuple[str, str]:
    from apps.executions import services

    row = services.create_execution(namespace, flow_id, inputs=inputs, inputs_mode="raw")
    state = faultkit.wait_terminal([row.id], 180)[row.id]
    return str(row.id), state


def landed(warehouse: dict[str, Any], execution_id: str) -> list[tuple[str, str, int, str]]:
    params = {k: v for k, v in warehouse.items() if k != "url"}
    with psycopg.connect(**params) as conn:  # type: ignore[arg-type]
        rows = conn.execute("SELECT day::text, customer, quantity, revenue::text FROM daily_sales "
                            "WHERE load_id = %s ORDER BY day, customer", [execution_id]).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def states(execution_id: str) -> dict[str, str]:
    from apps.executions.models import TaskRun

    return dict(TaskRun.objects.filter(execution_id=execution_id).values_list("task_id", "state"))


def check_pipeline(namespace: str, flow_id: str, warehouse: dict[str, Any],
                   endpoints: tuple[HTTPServer, list[dict[str, Any]]]) -> None:
    server, posts = endpoints
    execution_id, state = run(namespace, flow_id, {"orders_url": server.url_for("/exports/orders.csv"),
                                                   "pg_url": warehouse["url"]})
    assert state == "SUCCESS", states(execution_id)
    assert landed(warehouse, execution_id) == EXPECTED
    assert posts[-1] == {"text": f"Orders ETL {execution_id}: 2 daily rows loaded, 3 bad orders skipped."}

    # a warehouse the egress policy refuses (10.0.0.0/8 is not in WEIR_EGRESS_ALLOW): no retry applies
    failed_id, state = run(namespace, flow_id, {"orders_url": server.url_for("/exports/orders.csv"),
                                                "pg_url": "jdbc:postgresql://10.255.0.1:5432/analytics"})
    assert state == "FAILED"
    assert states(failed_id)["create_table"] == "FAILED" and states(failed_id)["alert"] == "SUCCESS"
    alert = posts[-1]
    assert alert["text"].startswith(f"*[{namespace}] {flow_id} ➛ FAILED*\n> Failed on task `create_table`")
    assert alert["blocks"][0]["text"]["text"] == "The nightly orders ETL failed."


@pytest.mark.skipif(registry.get("io.kestra.plugin.scripts.python.Script") is None,
                    reason="needs the scripts plugin (io.kestra.plugin.scripts.python.Script)")
def test_examples_etl_deployed_with_the_cli_runs_end_to_end(
        warehouse: dict[str, Any], endpoints: tuple[HTTPServer, list[dict[str, Any]]],
        worker: faultkit.Service, django_user_model: Any) -> None:
    from apps.cli.main import main

    django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    assert main(["flow", "deploy", str(ROOT / "examples" / "etl"), "--namespace", "demo.etl"]) == 0
    check_pipeline("demo.etl", "orders_etl", warehouse, endpoints)


DUCKDB_TRANSFORM = """\
  - id: clean_and_aggregate
    type: io.kestra.plugin.jdbc.duckdb.Query
    inputFiles:
      orders.csv: "{{ outputs.fetch_orders.uri }}"
    outputFiles:
      - daily_sales.csv
    fetchType: FETCH_ONE
    sql: |
      CREATE TABLE clean AS
        SELECT CAST(ordered_at[1:10] AS DATE) AS day, lower(trim(customer)) AS customer,
               TRY_CAST(quantity AS INTEGER) AS quantity, TRY_CAST(unit_price AS DECIMAL(12, 2)) AS price
        FROM read_csv('{{ workingDir }}/orders.csv', all_varchar = true, header = true)
        WHERE lower(trim(status)) <> 'cancelled';
      CREATE TABLE daily AS
        SELECT day, customer, sum(quantity) AS quantity, sum(quantity * price) AS revenue,
               '{{ execution.id }}' AS load_id
        FROM clean WHERE quantity > 0 AND price IS NOT NULL AND customer <> '' GROUP BY 1, 2 ORDER BY 1, 2;
      COPY daily TO '{{ outputFiles["daily_sales.csv"] }}' (HEADER, DELIMITER ',');
      SELECT (SELECT count(*) FROM daily) AS rows,
             (SELECT count(*) FROM read_csv('{{ workingDir }}/orders.csv', all_varchar = true))
               - (SELECT count(*) FROM clean WHERE quantity > 0 AND price IS NOT NULL) AS skipped;
"""


def duckdb_variant() -> str:
    """examples/etl/orders_etl.yml with its Python step replaced by the DuckDB step above."""
    source = (ROOT / "examples" / "etl" / "orders_etl.yml").read_text()
    start = source.index("  - id: clean_and_aggregate")
    end = source.index("  - id: create_table")
    source = source[:start] + DUCKDB_TRANSFORM + "\n" + source[end:]
    source = source.replace("outputs.clean_and_aggregate.vars.", "outputs.clean_and_aggregate.row.")
    return source.replace("id: orders_etl", "id: orders_etl_duckdb", 1)


def test_the_pipeline_runs_end_to_end_on_a_real_worker(
        warehouse: dict[str, Any], endpoints: tuple[HTTPServer, list[dict[str, Any]]],
        worker: faultkit.Service) -> None:
    faultkit.deploy(duckdb_variant())
    check_pipeline("demo.etl", "orders_etl_duckdb", warehouse, endpoints)
