"""The worker and scheduler the scenarios' executions need.

With Redis (REDIS_URL) and a database another process can open, a real Celery worker process
runs the tasks, as in production, and a thread here runs the scheduler tick (delays, reaper,
sweeper). Otherwise the standalone services run in this process (worker threads on the memory
broker and the scheduler loop), which is also what works on an in-memory test database.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger("weir.conformance")
TICK_SECONDS = 0.2
SWEEP_SECONDS = 2.0
_standalone_started = False


def database_url() -> str | None:
    """The URL of the database this process uses (the test database under pytest), if shareable."""
    db: dict[str, Any] = connection.settings_dict
    engine = str(db.get("ENGINE", ""))
    name = str(db.get("NAME") or "")
    if engine.endswith("sqlite3"):
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        return f"sqlite:///{name}"
    if engine.endswith("postgresql"):
        auth = quote(str(db.get("USER") or ""), safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(str(db["PASSWORD"]), safe="")
        host = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        return f"postgres://{auth + '@' if auth else ''}{host}/{quote(name, safe='')}"
    return None


def redis_url() -> str:
    return str(getattr(settings, "REDIS_URL", "") or os.environ.get("REDIS_URL", ""))


class Services:
    """Context manager: workers and scheduler up for the scenarios, stopped afterwards."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mode = "standalone"
        self._saved: tuple[Any, str | None] = (None, None)

    def __enter__(self) -> Services:
        # quick sweeps: a lost publish is redone in seconds rather than the production 10 s
        self._saved = (getattr(settings, "WEIR_SWEEP_SECONDS", None), os.environ.get("WEIR_SWEEP_SECONDS"))
        settings.WEIR_SWEEP_SECONDS = min(float(getattr(settings, "WEIR_SWEEP_SECONDS", 10)), SWEEP_SECONDS)
        os.environ["WEIR_SWEEP_SECONDS"] = str(settings.WEIR_SWEEP_SECONDS)
        from config.celery import app

        app.set_current()  # `shared_task`s publish through the current app: ours, not Celery's default
        db_url = database_url()
        if redis_url() and db_url:
            self._start_process(db_url)
        else:
            self._start_standalone()
        return self

    def _start_process(self, db_url: str) -> None:
        self.mode = "celery"
        env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url()}
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"))
        command = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "-Q", "weir.tasks", "-c", "4",
                   "-P", "threads", "--without-heartbeat", "--without-mingle", "--without-gossip",
                   "--loglevel", "INFO"]
        with tempfile.NamedTemporaryFile("wb", prefix="weir-conformance-worker-", suffix=".log",
                                         delete=False) as handle:  # the worker's output, for diagnosis
            self.log_path = Path(handle.name)
            self.process = subprocess.Popen(command, env=env, cwd=str(settings.BASE_DIR), stdout=handle,
                                            stderr=subprocess.STDOUT)
        self._thread = threading.Thread(target=self._tick_loop, name="conformance-scheduler", daemon=True)
        self._thread.start()

    def _start_standalone(self) -> None:
        global _standalone_started
        self.mode = "standalone"
        if not _standalone_started:  # its threads live as long as the process; start them once
            from apps.cli.standalone import start_background_services

            start_background_services()
            _standalone_started = True

    def _tick_loop(self) -> None:
        from apps.executions.runtime import scheduler

        while not self._stop.is_set():
            try:
                scheduler.tick()
            except Exception:
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            self._stop.wait(TICK_SECONDS)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        sweep, sweep_env = self._saved
        if sweep is not None:
            settings.WEIR_SWEEP_SECONDS = sweep
        if sweep_env is None:
            os.environ.pop("WEIR_SWEEP_SECONDS", None)
        else:
            os.environ["WEIR_SWEEP_SECONDS"] = sweep_env
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.process is not None:
            crashed = self.process.poll() is not None
            if not crashed:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
            if crashed and self.log_path is not None:
                log.warning("the Celery worker exited early (code %s); its output: %s",
                            self.process.returncode, self.log_path)
            elif self.log_path is not None:
                self.log_path.unlink(missing_ok=True)
