"""Database outages in one process (docs/adr/0013): which errors count as "unreachable", the
retry loop, and the web's 503 answers. Outages here are real: a connection terminated by the
server (`pg_terminate_backend`), and the connection settings pointed at a port nobody listens
on. The whole-system test (restart and crash of a PostgreSQL cluster under load) is
tests/faults/test_db_outage.py."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from apps.core import outage, unavailable

pytestmark = [pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _fresh_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no outage under way in this process."""
    monkeypatch.setattr(outage, "OUTAGE", outage.Outage())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def terminate_own_backend() -> None:
    """The server ends this thread's connection, as a restart does (the client learns on its next query)."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 5432), user=db["USER"] or "postgres",
                         password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def unreachable_db(transactional_db: Any) -> Iterator[None]:
    """This thread's connection points at a closed port until the test ends."""
    from django.db import connection

    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


def error_of(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("no error")


def test_refused_and_terminated_connections_are_outages(transactional_db: Any) -> None:
    import psycopg
    from django.db import connection

    assert outage.unreachable(error_of(lambda: psycopg.connect(host="127.0.0.1", port=closed_port(),
                                                                 user="postgres", connect_timeout=2)))
    terminate_own_backend()
    with connection.cursor() as cursor:  # Django's wrapper: django.db.OperationalError from psycopg's
        wrapped = error_of(lambda: cursor.execute("SELECT 1"))
    assert type(wrapped).__module__ == "django.db.utils" and outage.unreachable(wrapped)
    closed = error_of(lambda: connection.cursor().execute("SELECT 1"))  # the dead connection, used again
    assert outage.unreachable(closed), repr(closed)
    connection.close()


def test_an_error_raised_while_handling_an_outage_counts_as_one() -> None:
    """A rollback or autocommit reset on the dead connection fails with an error of its own
    (a ProgrammingError: "connection in transaction status UNKNOWN"); the outage under it decides."""
    import psycopg

    try:
        try:
            psycopg.connect(host="127.0.0.1", port=closed_port(), user="postgres", connect_timeout=2)
        except psycopg.OperationalError:
            raise psycopg.ProgrammingError("can't change 'autocommit' now") from None
    except psycopg.ProgrammingError as error:
        assert error.__cause__ is None and outage.unreachable(error)


def test_errors_in_what_was_asked_are_not_outages(transactional_db: Any) -> None:
    from django.db import IntegrityError, connection

    from apps.accounts.models import User

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '10ms'")
        canceled = error_of(lambda: cursor.execute("SELECT pg_sleep(1)"))  # QueryCanceled: an OperationalError
        cursor.execute("SET statement_timeout = 0")
        division = error_of(lambda: cursor.execute("SELECT 1 / 0"))
    User.objects.create(username="twice")
    duplicate = error_of(lambda: User.objects.create(username="twice"))
    assert isinstance(duplicate, IntegrityError)
    assert not any(outage.unreachable(e) for e in (canceled, division, duplicate)), (canceled, division, duplicate)
    assert not outage.unreachable(RuntimeError("database"))


@pytest.mark.parametrize("through", ["orm", "raw psycopg cursor"])
def test_call_reconnects_after_the_server_dropped_the_connection(
        transactional_db: Any, through: str, caplog: pytest.LogCaptureFixture) -> None:
    """The worker's hot path uses raw psycopg cursors, whose errors Django never sees: without
    `call()` throwing the connection away, every later query of the process would fail."""
    from apps.accounts.models import User
    from apps.executions.runtime import snapshots

    def query() -> int:
        if through == "orm":
            return User.objects.count()
        with snapshots.hot_cursor() as cursor:
            cursor.execute("SELECT 41 + 1", [])
            return int(cursor.fetchone()[0])

    expected = query()
    terminate_own_backend()
    with caplog.at_level(logging.WARNING, logger="weir.database"):
        assert outage.call(query) == expected
    lines = [r.getMessage() for r in caplog.records if r.name == "weir.database"]
    assert len(lines) == 2 and lines[0].startswith("database unreachable") and \
        lines[1].startswith("database reachable again"), lines
    assert not outage.OUTAGE.active


def test_call_raises_other_errors_at_once_and_never_retries_inside_a_transaction(transactional_db: Any) -> None:
    from django.db import connection, transaction

    from apps.accounts.models import User

    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        raise ValueError("not the database")

    with pytest.raises(ValueError):
        outage.call(fails)
    assert calls == [1]

    def reads() -> int:
        calls.append(2)
        return User.objects.count()

    with pytest.raises(Exception) as raised, transaction.atomic():
        terminate_own_backend()
        outage.call(reads)  # a broken transaction is retried from the top, never from within
    assert outage.unreachable(raised.value) and calls == [1, 2]
    connection.close()


def test_call_gives_up_after_within_seconds() -> None:
    """Workers bound their patience: past it the attempt goes to the reaper, not to a pool
    process blocked for good."""
    import psycopg

    tries: list[int] = []

    def connect() -> None:
        tries.append(1)
        psycopg.connect(host="127.0.0.1", port=closed_port(), user="postgres", connect_timeout=2)

    with pytest.raises(psycopg.OperationalError):
        outage.call(connect, within=0.5)
    assert len(tries) >= 2 and outage.OUTAGE.active


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = outage.Backoff(first=0.1, cap=1.0)
    pauses = [backoff.pause() for _ in range(8)]
    assert all(0.05 <= p <= 1.0 for p in pauses) and pauses[-1] >= 0.5 and pauses[0] <= 0.1
    backoff.reset()
    assert backoff.pause() <= 0.1


# ---------------------------------------------------------------------------------------------
# The web


def assert_503(response: Any, json_body: bool) -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Retry-After"] == str(unavailable.RETRY_AFTER_SECONDS)
    if json_body:
        assert response["Content-Type"].startswith("application/json")
        assert json.loads(response.content)["message"] == "database unavailable, retry later"
    else:
        assert response["Content-Type"].startswith("text/html") and b"Database unavailable" in response.content


def test_api_answers_503_json_when_authentication_cannot_reach_the_database(unreachable_db: None) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer some-token")  # checked against the database
    assert_503(client.get("/api/v1/executions/search"), json_body=True)
    assert_503(client.post("/api/v1/executions/acme/hello"), json_body=True)


def test_pages_answer_503_when_the_session_cannot_be_loaded(transactional_db: Any, django_user_model: Any) -> None:
    from django.db import connection
    from django.test import Client

    user = django_user_model.objects.create_user(username="paula", password="pw-paula-1234")
    client = Client()
    client.force_login(user)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port())
    try:
        assert_503(client.get("/"), json_body=False)
        assert_503(client.get("/", HTTP_ACCEPT="application/json"), json_body=True)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert client.get("/").status_code == 200  # and back once the database is


def test_errors_raised_outside_views_get_the_503_from_the_500_handler(unreachable_db: None) -> None:
    """A middleware that reaches the database (a session saved on the way out) fails outside any
    view: Django's 500 handler is the one place that sees it."""
    from django.db import connection
    from django.test import RequestFactory
    from django.urls import get_resolver

    assert get_resolver().resolve_error_handler(500) is unavailable.server_error
    request = RequestFactory().get("/api/v1/flows/search")
    try:
        connection.ensure_connection()
    except Exception:
        answer = unavailable.server_error(request)
    assert_503(answer, json_body=True)
    try:
        raise ValueError("a bug")
    except ValueError:
        assert unavailable.server_error(RequestFactory().get("/")).status_code == 500
