"""A real server in a thread: `config.asgi` under uvicorn plus an in-process worker.

For tests (tests/live, tests/browser) and benchmarks (bench/ui_logs.py), which need HTTP *and*
WebSockets against the current database. The worker is `weir standalone`'s (a Celery worker
with a thread pool on this process's broker), started by the fixtures that serve and stopped
when they end.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

_worker: tuple[Any, threading.Thread] | None = None
_worker_lock = threading.Lock()


def start_worker(concurrency: int = 4) -> None:
    """Run task runs in this process until `stop_worker()` (idempotent)."""
    global _worker
    with _worker_lock:
        if _worker is not None and _worker[1].is_alive():
            return
        from apps.cli.standalone import start_worker_threads

        _worker = start_worker_threads(concurrency)


def stop_worker() -> None:
    """Stop the in-process worker: left running, it would take the messages of later tests
    that run their own workers on the same broker (tests/faults) and find nothing to claim."""
    global _worker
    with _worker_lock:
        if _worker is None:
            return
        worker, thread = _worker
        _worker = None
    worker.stop(in_sighandler=False)
    thread.join(15)


class ServerThread:
    """uvicorn serving `config.asgi:application` on 127.0.0.1 and a free port."""

    def __init__(self, host: str = "127.0.0.1", ws_max_size: int | None = None) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self.ws_url = f"ws://{host}:{self.port}"
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.wsgi import get_wsgi_application

        from config.asgi import application_for

        # Like pytest-django's live server, serve static files (and the built islands) too.
        app = application_for(StaticFilesHandler(get_wsgi_application()))
        from apps.live.limits import MAX_FRAME_BYTES

        config = uvicorn.Config(app, interface="asgi3", lifespan="off", log_level="warning", ws_ping_interval=None,
                                ws_max_size=ws_max_size or MAX_FRAME_BYTES)  # as `weir server web`
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="weir-test-server", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self, timeout: float = 15.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def use_file_sqlite_for_tests() -> str | None:
    """Point the SQLite *test* database at a file of this process (tests/live, tests/browser).

    Django's default in-memory test database uses SQLite's shared cache, whose table locks do
    not wait (no busy timeout): a server thread reading while the worker writes fails with
    "database table is locked". A file with WAL (config/settings.py) lets them take turns. The
    name carries the process id, so concurrent test runs never share it.
    """
    import atexit
    import os
    import tempfile

    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3"):
        return None
    path = os.path.join(tempfile.gettempdir(), f"weir-test-{os.getpid()}.sqlite3")
    db.setdefault("TEST", {})["NAME"] = path
    atexit.register(remove_sqlite_files, path)  # whatever the teardown order left behind
    return path


def remove_sqlite_files(path: str | None) -> None:
    """Remove what SQLite leaves next to a test database file (WAL and shared-memory files)."""
    import os

    for suffix in ("", "-wal", "-shm"):
        if path and os.path.exists(path + suffix):
            os.remove(path + suffix)


def shared_memory_sqlite() -> bool:
    """True when the test database is SQLite in memory (threads would lock each other out)."""
    from django.db import connection

    name = str(connection.settings_dict.get("NAME") or "")
    return connection.vendor == "sqlite" and ("memory" in name or name == "")
