"""`publisher.publish` (docs/adr/0033): the message a worker receives is the one `apply_async`
sends, built without Celery's per-call routing, and a connection Redis dropped loses no message."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import current_app

from apps.executions.runtime import publisher
from apps.executions.runtime.tasks import run_task

pytestmark = [pytest.mark.redis]

QUEUE = "weir.publisher-test"
IDS = ("id", "root_id")


@pytest.fixture
def broker() -> Iterator[Any]:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(QUEUE)
    yield client
    client.delete(QUEUE)


def _messages(broker: Any) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in reversed(broker.lrange(QUEUE, 0, -1))]  # oldest first


def test_the_message_is_the_one_apply_async_sends(broker: Any) -> None:
    args = ["aTaskRunId", 2, QUEUE]
    run_task.apply_async(args=args, queue=QUEUE)
    publisher.publish(run_task, args, QUEUE)
    celery_own, lean = _messages(broker)
    assert lean["body"] == celery_own["body"]  # args, kwargs and the embedded callbacks
    assert {k: v for k, v in lean["headers"].items() if k not in IDS} == \
        {k: v for k, v in celery_own["headers"].items() if k not in IDS}
    assert lean["headers"]["task"] == "weir.run_task" and lean["headers"]["id"] == lean["headers"]["root_id"]
    assert lean["properties"]["correlation_id"] == lean["headers"]["id"]
    assert (lean["content-type"], lean["content-encoding"]) == (celery_own["content-type"], celery_own["content-encoding"])
    assert lean["properties"]["delivery_info"]["routing_key"] == QUEUE


def test_a_connection_redis_dropped_loses_no_message(broker: Any) -> None:
    publisher.publish(run_task, ["first", 0, QUEUE], QUEUE)
    number = int(os.environ["REDIS_URL"].rsplit("/", 1)[1])
    own = broker.client_id()
    for client in broker.client_list():  # what a Redis restart does to the producer's connection
        if int(client.get("db", -1)) == number and int(client["id"]) != own:
            broker.client_kill_filter(_id=client["id"])
    publisher.publish(run_task, ["second", 0, QUEUE], QUEUE)
    assert [json.loads(_body(m))[0][0] for m in _messages(broker)] == ["first", "second"]


def _body(message: dict[str, Any]) -> bytes:
    return base64.b64decode(message["body"])


def test_eager_mode_keeps_apply_async() -> None:
    current_app.conf.task_always_eager = True
    try:
        assert not publisher.lean(current_app)
    finally:
        current_app.conf.task_always_eager = False
    assert publisher.lean(current_app)
