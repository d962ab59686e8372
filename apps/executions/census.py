"""How many pool processes the live Celery workers have per queue (docs/adr/0009).

A decision that makes many task runs runnable at once (a wide Parallel) publishes a message for
only as many of them as there are processes to take them; the others are *held*, and the worker
that finishes one of the execution's runs claims the next held one itself, without a broker
round trip. Knowing the processes is what keeps holding from ever leaving one idle.

Each worker writes its queues and pool size into a Redis hash when it is ready, again every
`REFRESH_SECONDS`, and removes itself when it stops; an entry not refreshed for `STALE_SECONDS`
(a worker killed with -9) is ignored. Readers cache the sum for a few seconds. Without Redis
(the standalone default) or with no worker registered, the answer is "unknown" and every
runnable run is published, as before.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

KEY = "weir:census"
REFRESH_SECONDS = 30.0
STALE_SECONDS = 90.0
CACHE_SECONDS = 5.0

_lock = threading.Lock()
_cached: tuple[float, dict[str, int]] | None = None
_override: dict[str, int] | None = None
_overridden = False


_clients: dict[tuple[int, str], Any] = {}


def _client() -> Any:
    """This process's Redis client (its pool is not shared across a fork)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    key = (os.getpid(), url)
    if key not in _clients:
        import redis

        _clients[key] = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return _clients[key]


def slots(queue: str) -> int | None:
    """Pool processes of the live workers consuming `queue`; None when that is not known."""
    global _cached
    if _overridden:
        return None if _override is None else _override.get(queue, 0)
    from config.celery import app

    if app.conf.task_always_eager:  # tasks run where they are sent: there is nothing to count
        return None
    now = time.monotonic()
    with _lock:
        cached = _cached
    if cached is None or now - cached[0] > CACHE_SECONDS:
        counted = _count()
        with _lock:
            _cached = cached = (now, counted)
    return cached[1].get(queue) or None


def _count() -> dict[str, int]:
    try:
        entries = live()
    except Exception:  # Redis unreachable: publish everything, as without a census
        log.warning("could not read the worker census", exc_info=True)
        return {}
    counted: dict[str, int] = {}
    for entry in (entries or {}).values():
        for queue in entry["queues"]:
            counted[queue] = counted.get(queue, 0) + entry["concurrency"]
    return counted


def live() -> dict[str, dict[str, Any]] | None:
    """The live workers by name (`queues`, `concurrency`, `seen`); None without Redis.
    Raises when Redis is unreachable (readiness and metrics say so; `slots` does not care)."""
    client = _client()
    if client is None:
        return None
    found: dict[str, dict[str, Any]] = {}
    for name, raw in client.hgetall(KEY).items():
        try:
            entry = json.loads(raw)
            if time.time() - float(entry["seen"]) > STALE_SECONDS:
                continue
            found[name.decode() if isinstance(name, bytes) else str(name)] = {
                "queues": [str(q) for q in entry["queues"]], "concurrency": int(entry["concurrency"]),
                "seen": float(entry["seen"])}
        except (ValueError, KeyError, TypeError):
            continue
    return found


def override(counted: dict[str, int] | None) -> None:
    """Tests: fix the answer (None: unknown); `forget()` undoes it."""
    global _override, _overridden
    _override, _overridden = counted, True


def forget() -> None:
    global _cached, _override, _overridden
    with _lock:
        _cached, _override, _overridden = None, None, False


# ---------------------------------------------------------------------------------------------
# The worker side (Celery signals, in the worker's main process)


def register(name: str, queues: list[str], concurrency: int) -> None:
    client = _client()
    if client is None:
        return
    entry = json.dumps({"queues": queues, "concurrency": concurrency, "seen": time.time()})
    try:
        client.hset(KEY, name, entry)
    except Exception:
        log.warning("could not register in the worker census", exc_info=True)


def unregister(name: str) -> None:
    client = _client()
    if client is None:
        return
    try:
        client.hdel(KEY, name)
    except Exception:
        log.warning("could not leave the worker census", exc_info=True)


def _on_ready(sender: Any = None, **_: Any) -> None:
    consumer = sender
    name = str(getattr(consumer, "hostname", "") or os.getpid())
    queues = [str(q.name) for q in getattr(getattr(consumer, "task_consumer", None), "queues", None) or []]
    concurrency = getattr(getattr(consumer, "controller", None), "concurrency", None)
    if not queues or not isinstance(concurrency, int) or concurrency < 1:
        return  # not a pool this census can count (or a worker with no queue)

    def refresh() -> None:
        while True:
            register(name, queues, concurrency)
            time.sleep(REFRESH_SECONDS)

    threading.Thread(target=refresh, name="weir-census", daemon=True).start()

    def leave(**_: Any) -> None:
        unregister(name)

    from celery.signals import worker_shutdown

    worker_shutdown.connect(leave, weak=False)


def connect_signals() -> None:
    from celery.signals import worker_ready

    worker_ready.connect(_on_ready, weak=False)
