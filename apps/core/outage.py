"""What a process does while PostgreSQL is unreachable (docs/adr/0013).

A database restart breaks every open connection; until the server is back every new one is
refused. The long-running loops (the scheduler's ticks, the worker's claims and result writes,
the lease renewals) must neither die nor spin nor spam the log meanwhile, so each of them:

- tells an outage from any other database error with `unreachable()` (a refused or broken
  connection, a server shutting down or still starting up; never a lock timeout, a deadlock or
  a constraint violation, which are answered as before);
- throws the broken connection away (`discard_connections()`): Django only drops a connection
  whose error went through its own cursor wrapper, and the hot paths use raw psycopg cursors;
- waits with a capped exponential back-off (`Backoff`) and tries again (`call()`);
- says so once per outage and process: "database unreachable, retrying…" when the first error
  is seen, "database reachable again after N s" when the next call succeeds (`OUTAGE`).

`call()` must not run inside `transaction.atomic()`: a broken transaction cannot be retried
from within itself, only from the top.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("weir.database")

T = TypeVar("T")

FIRST_PAUSE_SECONDS = 0.1
MAX_PAUSE_SECONDS = 2.0
"""The back-off doubles from the first pause up to this cap: a worker notices the database is
back at most this long after it is."""

# SQLSTATE classes that mean "the server is not there for us": 08 connection exceptions,
# 57P01-57P04 (admin/crash shutdown, starting up or in recovery, database dropped), 53300 too
# many connections (every client reconnecting at once after a restart).
_UNREACHABLE_STATES = ("08", "57P", "53300")


def unreachable(exc: BaseException) -> bool:
    """True when `exc`, or an error it was raised while handling (Django wraps the driver's error;
    a failed rollback or reset follows a lost connection), means PostgreSQL cannot be reached, as
    opposed to an error in what was asked of it."""
    import django.db

    try:
        import psycopg
    except ImportError:  # an installation on SQLite only: no server to lose
        return False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, psycopg.InterfaceError | django.db.InterfaceError):
            return True  # "the connection is closed", "connection already closed"
        if isinstance(current, psycopg.OperationalError) and not isinstance(current, psycopg.errors.PipelineAborted):
            state = current.sqlstate  # PipelineAborted follows an earlier error, which decides
            if state is None or state.startswith(_UNREACHABLE_STATES):
                return True
        current = current.__cause__ or current.__context__
    return False


def discard_connections() -> None:
    """Close this thread's database connections so the next query opens a fresh one. A
    connection inside `atomic()` is left to the block that owns it (Django refuses to drop it)."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            with contextlib.suppress(Exception):  # closing a dead socket may complain; it is closed
                conn.close()


class Outage:
    """One "unreachable" line when an outage starts and one "reachable again" line when it ends,
    per process, however many threads and loops run into it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None

    @property
    def active(self) -> bool:
        return self._since is not None

    def down(self, exc: BaseException) -> None:
        if self._since is not None:  # already said
            return
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                log.warning("database unreachable, retrying with back-off (up to %.0f s between tries): %s",
                            MAX_PAUSE_SECONDS, _first_line(exc))

    def up(self) -> None:
        if self._since is None:  # the hot path: no lock
            return
        with self._lock:
            if self._since is not None:
                log.warning("database reachable again after %.1f s", time.monotonic() - self._since)
                self._since = None


OUTAGE = Outage()


class Backoff:
    """Pauses of a capped exponential back-off with jitter, so that many processes do not all
    reconnect in the same instant."""

    def __init__(self, first: float = FIRST_PAUSE_SECONDS, cap: float = MAX_PAUSE_SECONDS) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def pause(self) -> float:
        chosen = self._next * random.uniform(0.5, 1.0)
        self._next = min(self.cap, self._next * 2)
        return chosen

    def reset(self) -> None:
        self._next = self.first


def call(fn: Callable[[], T], *, stop: threading.Event | None = None, within: float | None = None) -> T:
    """`fn()`, tried again while the database is unreachable; any other error is raised at once.
    The last outage error is raised when `stop` is set, or once `within` seconds have passed
    since the first failure (for callers that have a slower way to recover, such as a worker
    whose attempt the reaper re-runs)."""
    from django.db import connection

    backoff = Backoff()
    first_failure: float | None = None
    while True:
        try:
            result = fn()
        except Exception as exc:
            if connection.in_atomic_block or not unreachable(exc):
                raise
            OUTAGE.down(exc)
            discard_connections()
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            pause = backoff.pause()
            if within is not None and now + pause - first_failure > within:
                raise
            if stop is None:
                time.sleep(pause)
            elif stop.wait(pause):
                raise
            continue
        OUTAGE.up()
        return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
