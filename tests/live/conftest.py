"""A real server for the WebSocket tests: uvicorn serving `config.asgi` in a thread, with the
in-process worker, against the test database (`transactional_db`: the engine's `on_commit`
follow-ups must fire). `channel_layer` runs each test on the in-memory layer and, when
REDIS_URL is set, again on channels_redis (those cases are marked `redis`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
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

MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 500}}}



@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    """A file-based SQLite test database when these tests run on their own (see devserver)."""
    path = use_file_sqlite_for_tests()
    yield
    remove_sqlite_files(path)

def _redis_layer() -> dict[str, Any]:
    return {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                        "CONFIG": {"hosts": [os.environ.get("REDIS_URL", "")], "capacity": 500, "expiry": 30}}}


@pytest.fixture(params=[pytest.param("memory"), pytest.param("redis", marks=pytest.mark.redis)],
                ids=["memory", "redis"])
def channel_layer(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.CHANNEL_LAYERS = MEMORY if request.param == "memory" else _redis_layer()
    return str(request.param)


def settle(timeout: float = 60.0) -> None:
    """Wait for every execution to end, so no worker thread writes while the database is flushed."""
    import time

    from apps.engine.states import TERMINATED
    from apps.executions.models import Execution

    deadline = time.monotonic() + timeout
    while Execution.objects.exclude(state__in=[s.value for s in TERMINATED]).exists():
        if time.monotonic() > deadline:
            raise AssertionError("executions still running at the end of the test")
        time.sleep(0.05)


@pytest.fixture
def asgi_server(transactional_db: Any, channel_layer: str) -> Iterator[ServerThread]:
    if shared_memory_sqlite():
        pytest.skip("the test database is SQLite in memory (set up by another directory's tests): run this "
                    "directory on its own, or with DATABASE_URL")
    start_worker()
    try:
        with ServerThread() as server:
            yield server
            settle()
    finally:
        stop_worker()


class Socket:
    """A synchronous WebSocket client that reads typed JSON frames."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        from websockets.sync.client import connect

        self.conn = connect(url, additional_headers=headers, open_timeout=10, max_size=None)

    def frame(self, timeout: float = 20.0) -> dict[str, Any]:
        return dict(json.loads(self.conn.recv(timeout=timeout)))

    def until(self, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> list[dict[str, Any]]:
        """Frames up to and including the first one for which `done` is true."""
        frames = []
        while True:
            frames.append(self.frame(timeout))
            if done(frames[-1]):
                return frames

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def session_headers(asgi_server: ServerThread) -> Callable[[Any], dict[str, str]]:
    """Headers of a browser page of this server, logged in as `user` (session cookie, Origin)."""
    from django.test import Client

    def make(user: Any) -> dict[str, str]:
        client = Client()
        client.force_login(user)
        return {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Origin": asgi_server.url}
    return make


@pytest.fixture
def ws(asgi_server: ServerThread) -> Iterator[Callable[..., Socket]]:
    opened: list[Socket] = []

    def open_socket(path: str, headers: dict[str, str] | None = None) -> Socket:
        sock = Socket(asgi_server.ws_url + path, headers or {})
        opened.append(sock)
        return sock
    yield open_socket
    for sock in opened:
        sock.close()
