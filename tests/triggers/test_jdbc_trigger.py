"""`io.kestra.plugin.jdbc.postgresql.Trigger` on the polling contract (PLUGINS.md §6.5): rows
start an execution with `trigger.rows`/`row` and `size`; no rows, or fetchType NONE, start
nothing; STORE is refused at validation."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.utils import timezone

from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.flows.validation import validate_source
from apps.plugins import egress
from apps.triggers import polling, scheduler
from apps.triggers.models import TriggerState

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A scratch database with an `outbox` table; its JDBC URL."""
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    admin = {"host": server.hostname or "127.0.0.1", "port": server.port or 5432,
             "user": server.username or "postgres", "dbname": "postgres", "autocommit": True}
    name = f"weir_jdbctrig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(**{**admin, "dbname": name}) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE TABLE outbox (id int, sent boolean)")
    yield f"jdbc:postgresql://{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def flow(url: str, fetch: str = "FETCH") -> str:
    return f"""\
id: drain
namespace: acme
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.size }}}}"
triggers:
  - id: rows
    type: io.kestra.plugin.jdbc.postgresql.Trigger
    url: {url}
    username: postgres
    sql: SELECT id FROM outbox WHERE sent = false ORDER BY id
    fetchType: {fetch}
    interval: PT30S
"""


def evaluate() -> TriggerState:
    scheduler.tick(timezone.now())
    state = TriggerState.objects.get(trigger_id="rows")
    polling.evaluate(state.id, state.worker_id)
    state.refresh_from_db()
    return state


def insert(url: str, *ids: int) -> None:
    target = urlsplit(url[len("jdbc:"):])
    with psycopg.connect(host=target.hostname, port=target.port, user="postgres", dbname=target.path.lstrip("/"),
                         autocommit=True) as conn:
        for row_id in ids:
            conn.execute("INSERT INTO outbox VALUES (%s, false)", [row_id])


def test_rows_start_an_execution_and_no_rows_start_nothing(outbox: str, writer: Any) -> None:
    flow_services.create_flow(writer, flow(outbox))
    state = evaluate()
    assert state.last_error == "" and not Execution.objects.exists()
    insert(outbox, 1, 2)
    TriggerState.objects.update(evaluate_at=timezone.now())
    state = evaluate()
    assert state.last_error == ""
    [row] = Execution.objects.all()
    assert row.trigger["variables"] == {"rows": [{"id": 1}, {"id": 2}], "size": 2}


def test_fetch_one_and_none(outbox: str, writer: Any) -> None:
    insert(outbox, 7)
    flow_services.create_flow(writer, flow(outbox, "FETCH_ONE"))
    evaluate()
    assert Execution.objects.get().trigger["variables"] == {"row": {"id": 7}, "size": 1}
    Execution.objects.all().delete()
    flow_services.update_flow(writer, "acme", "drain", flow(outbox, "NONE"))
    TriggerState.objects.update(evaluate_at=timezone.now(), execution_id="")
    evaluate()
    assert not Execution.objects.exists()


def test_store_is_refused_at_validation() -> None:
    result = validate_source(flow("jdbc:postgresql://db:5432/shop", "STORE"))
    assert not result.ok and any("STORE is not available on the trigger" in p.message for p in result.problems)
