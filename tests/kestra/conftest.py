"""Kestra's official Python SDK (kestrapy) against a real Weir server.

`asgi_server` is uvicorn serving `config.asgi` in a thread with an in-process worker
(apps/cli/devserver.py), on the test database (`transactional_db`: the engine's `on_commit`
follow-ups must fire). `kestra` is a `KestraClient` signed in with an API token, `kestra_basic`
one signed in with a username and password: the tests touch Weir only through them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from apps.cli.devserver import (
    ServerThread,
    remove_sqlite_files,
    shared_memory_sqlite,
    start_worker,
    stop_worker,
    use_file_sqlite_for_tests,
)

USERNAME, PASSWORD = "kestra-admin", "kestra-password-1"
TENANT = "main"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    """A file-based SQLite test database when these tests run on their own (see devserver)."""
    path = use_file_sqlite_for_tests()
    yield
    remove_sqlite_files(path)


def settle(timeout: float = 60.0) -> None:
    """Kill what is still running and wait for it, so no worker writes while the database is flushed."""
    from apps.engine.states import TERMINATED
    from apps.executions import services
    from apps.executions.models import Execution

    running = Execution.objects.exclude(state__in=[s.value for s in TERMINATED])
    for row in running.exclude(state="KILLING"):
        with contextlib.suppress(Exception):  # already ending: waiting below is enough
            services.kill(row.id)
    deadline = time.monotonic() + timeout
    while running.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def web_threads() -> int | None:
    """The server's HTTP thread pool (`WEIR_WEB_THREADS`); None: the default. A module overrides it."""
    return None


@pytest.fixture
def asgi_server(transactional_db: Any, monkeypatch: pytest.MonkeyPatch, web_threads: int | None
                ) -> Iterator[ServerThread]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if web_threads is not None:
        monkeypatch.setenv("WEIR_WEB_THREADS", str(web_threads))
    if shared_memory_sqlite():
        pytest.skip("the test database is SQLite in memory: run this directory on its own, or with DATABASE_URL")
    start_worker()
    try:
        with ServerThread() as server:
            yield server
            settle()
    finally:
        stop_worker()


@pytest.fixture
def admin(asgi_server: ServerThread, django_user_model: Any) -> Any:
    from django.core.cache import cache

    cache.clear()  # throttle counters of earlier tests
    return django_user_model.objects.create_superuser(username=USERNAME, password=PASSWORD, email="")


@pytest.fixture
def token(admin: Any) -> str:
    from apps.accounts.services import create_token

    return create_token(admin, "kestrapy").raw


@pytest.fixture
def kestra(asgi_server: ServerThread, token: str) -> Iterator[Any]:
    from kestrapy import KestraClient

    with KestraClient(host=asgi_server.url, token=token, timeout=60) as client:
        yield client


@pytest.fixture
def kestra_basic(asgi_server: ServerThread, admin: Any) -> Iterator[Any]:
    from kestrapy import KestraClient

    with KestraClient(host=asgi_server.url, username=USERNAME, password=PASSWORD, timeout=60) as client:
        yield client
