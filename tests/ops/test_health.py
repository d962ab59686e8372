"""/health/liveness and /health/readiness with every dependency up, then with a private Redis
stopped, a stale scheduler heartbeat, and (in a real server process) an unreachable database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from apps.executions import census, health, heartbeat
from apps.executions.runtime import scheduler
from tests.ops import opskit


@pytest.fixture
def redis_only_ours(monkeypatch: pytest.MonkeyPatch) -> Iterator[opskit.PrivateRedis]:
    """Broker, census and heartbeat all on a private redis-server that the test may kill."""
    from config.celery import app

    with opskit.private_redis() as redis:
        monkeypatch.setenv("REDIS_URL", redis.url)
        monkeypatch.setattr(app.conf, "broker_url", redis.url)
        heartbeat.forget()
        yield redis
    heartbeat.forget()


def _readiness(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/health/readiness")
    return response.status_code, json.loads(response.content)


@pytest.mark.django_db
def test_liveness_needs_nothing() -> None:
    response = Client().get("/health/liveness")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "UP"}


@pytest.mark.django_db
def test_a_scheduler_tick_writes_the_heartbeat(redis_only_ours: opskit.PrivateRedis) -> None:
    assert heartbeat.last_beat() is None
    scheduler.tick()
    beat = heartbeat.last_beat()
    assert beat is not None and abs(time.time() - beat) < 60


@pytest.mark.django_db
def test_readiness_up_then_down_when_redis_stops(redis_only_ours: opskit.PrivateRedis) -> None:
    client = Client()
    status, body = _readiness(client)
    assert status == 503, body  # no worker registered, no scheduler beat yet
    assert body["checks"]["database"]["status"] == "UP"
    assert body["checks"]["broker"]["status"] == "UP"
    assert body["checks"]["workers"]["status"] == "DOWN"
    assert "no live worker" in body["checks"]["workers"]["error"]
    assert body["checks"]["scheduler"]["status"] == "DOWN"

    census.register("worker-a@host", ["weir.tasks"], 3)  # what a worker writes when it is ready
    scheduler.tick()
    status, body = _readiness(client)
    assert status == 200, body
    assert body["status"] == "UP"
    assert body["checks"]["workers"] == {"status": "UP", "workers": 1, "processes": {"weir.tasks": 3}}

    redis_only_ours.stop()
    status, body = _readiness(client)
    assert status == 503
    assert body["status"] == "DOWN"
    assert body["checks"]["database"]["status"] == "UP"
    for name in ("broker", "workers", "scheduler"):
        assert body["checks"][name]["status"] == "DOWN", body
        assert "Connection" in body["checks"][name]["error"], body
    assert Client().get("/health/liveness").status_code == 200


@pytest.mark.django_db
def test_a_stale_heartbeat_is_down(redis_only_ours: opskit.PrivateRedis, settings: Any) -> None:
    census.register("worker-a@host", ["weir.tasks"], 1)
    settings.WEIR_SCHEDULER_STALE_SECONDS = 30
    heartbeat.beat(now=time.time() - 120)
    check = health.scheduler()
    assert check["status"] == "DOWN"
    assert "120 s old" in check["error"] or "119 s old" in check["error"]
    status, _ = _readiness(Client())
    assert status == 503


def test_readiness_with_the_database_unreachable() -> None:
    """A real server process whose DATABASE_URL points at a closed port."""
    with opskit.private_redis() as redis:
        env = opskit.server_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{opskit.free_port()}/weir",
                                REDIS_URL=redis.url)
        server = opskit.WebServer(env).start()
        try:
            status, raw = server.get("/health/readiness")
            body = json.loads(raw)
            assert status == 503, body
            assert body["checks"]["database"]["status"] == "DOWN"
            assert "OperationalError" in body["checks"]["database"]["error"]
            assert body["checks"]["broker"]["status"] == "UP"
            assert server.get("/health/liveness") == (200, b'{"status": "UP"}')
        finally:
            server.stop()
