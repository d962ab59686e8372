"""Liveness and readiness of a Weir installation (README "Operations", docs/adr/0018).

Liveness says only that this process answers. Readiness checks what executions need:

- `database`: a `SELECT 1` on the default connection;
- `broker`: a PING to the Celery broker (Redis); the in-memory broker of standalone is always up;
- `workers`: at least one live worker in the Redis census (`census.live`); in standalone the
  worker is a thread of this process;
- `scheduler`: its heartbeat (`heartbeat.last_beat`) is younger than
  `WEIR_SCHEDULER_STALE_SECONDS`.

Every check catches its own failure and says what it was, so one service down never hides the
state of the others; the overall status is DOWN when any check is.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection

from apps.executions import census, heartbeat

UP, DOWN = "UP", "DOWN"


def _failure(error: BaseException) -> dict[str, Any]:
    return {"status": DOWN, "error": f"{type(error).__name__}: {str(error).strip()[:300]}"}


def database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        connection.close()  # a broken connection must not be reused by the next request
        return _failure(error)
    return {"status": UP, "vendor": connection.vendor}


def broker_url() -> str:
    from config.celery import app

    return str(app.conf.broker_url or "")


def broker() -> dict[str, Any]:
    url = broker_url()
    if url.startswith("memory://"):
        return {"status": UP, "kind": "in-memory"}
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:
        return _failure(error)
    return {"status": UP, "kind": "redis"}


def workers() -> dict[str, Any]:
    try:
        entries = census.live()
    except Exception as error:
        return _failure(error)
    if entries is None:
        return {"status": UP, "kind": "in-process"}
    processes: dict[str, int] = {}
    for entry in entries.values():
        for queue in entry["queues"]:
            processes[queue] = processes.get(queue, 0) + entry["concurrency"]
    status = UP if entries else DOWN
    found: dict[str, Any] = {"status": status, "workers": len(entries), "processes": processes}
    if not entries:
        found["error"] = "no live worker in the census (is `weir worker` running?)"
    return found


def stale_seconds() -> float:
    return float(getattr(settings, "WEIR_SCHEDULER_STALE_SECONDS", 30.0))


def scheduler() -> dict[str, Any]:
    try:
        last = heartbeat.last_beat()
    except Exception as error:
        return _failure(error)
    if last is None:
        return {"status": DOWN, "error": "no scheduler heartbeat (is `weir scheduler` running?)"}
    age = max(0.0, time.time() - last)
    found: dict[str, Any] = {"status": UP if age <= stale_seconds() else DOWN, "lastBeatSecondsAgo": round(age, 1)}
    if found["status"] == DOWN:
        found["error"] = f"the last scheduler heartbeat is {age:.0f} s old (limit {stale_seconds():.0f} s)"
    return found


def readiness() -> dict[str, Any]:
    checks = {"database": database(), "broker": broker(), "workers": workers(), "scheduler": scheduler()}
    status = UP if all(c["status"] == UP for c in checks.values()) else DOWN
    return {"status": status, "checks": checks}
