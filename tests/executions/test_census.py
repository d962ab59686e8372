"""The worker census in Redis (apps/executions/census.py): workers count themselves in and out,
and a worker that stopped refreshing its entry (killed with -9) no longer counts."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from apps.executions import census
from apps.executions.runtime import dispatch

pytestmark = pytest.mark.redis


@pytest.fixture
def fresh() -> Iterator[Any]:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(census.KEY)
    census.forget()
    yield client
    client.delete(census.KEY)
    census.forget()


def test_the_processes_of_the_workers_consuming_a_queue_are_summed(fresh: Any) -> None:
    census.register("w1@host", ["weir.tasks"], 4)
    census.register("w2@host", ["weir.tasks", "weir.wg.gpu"], 2)
    assert census.slots("weir.tasks") == 6
    assert census.slots("weir.wg.gpu") == 2
    assert census.slots("weir.wg.nobody") is None
    assert dispatch.budget("weir.tasks") == 6


def test_a_worker_that_leaves_or_goes_silent_stops_counting(fresh: Any) -> None:
    census.register("w1@host", ["weir.tasks"], 4)
    fresh.hset(census.KEY, "killed@host", json.dumps(
        {"queues": ["weir.tasks"], "concurrency": 8, "seen": time.time() - census.STALE_SECONDS - 1}))
    assert census.slots("weir.tasks") == 4
    census.unregister("w1@host")
    census.forget()  # the readers' cache
    assert census.slots("weir.tasks") is None


def test_a_broken_entry_is_ignored(fresh: Any) -> None:
    fresh.hset(census.KEY, "odd@host", "not json")
    census.register("w1@host", ["weir.tasks"], 3)
    assert census.slots("weir.tasks") == 3
