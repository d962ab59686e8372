"""Redis tasks on this machine's Redis (the REDIS_URL database), keys under a per-test prefix."""

from __future__ import annotations

import json
import os
import threading
import uuid
from typing import Any

import pytest
import redis

from apps.plugins import egress, ion
from tests.plugins.flowrun import eager, execute, read, root

__all__ = ["eager", "root"]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]
NS = "weir.redis"


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").replace("localhost", "127.0.0.1")


@pytest.fixture
def prefix(url: str) -> Any:
    tag = f"weirtest:{uuid.uuid4().hex[:8]}:"
    yield tag
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{tag}*"))
    if keys:
        client.delete(*keys)


def test_set_get_delete(url: str, prefix: str, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: strings
        namespace: {NS}
        tasks:
          - id: set_json
            type: io.kestra.plugin.redis.string.Set
            url: {url}
            key: "{prefix}profile"
            value: {{"name": "ann", "n": 2}}
            serdeType: JSON
            options:
              expirationDuration: PT1H
          - id: set_text
            type: io.kestra.plugin.redis.Set
            url: {url}
            key: "{prefix}greeting"
            value: "hello {{{{ flow.id }}}}"
          - id: swap
            type: io.kestra.plugin.redis.string.Set
            url: {url}
            key: "{prefix}greeting"
            value: bye
            get: true
          - id: nx
            type: io.kestra.plugin.redis.string.Set
            url: {url}
            key: "{prefix}greeting"
            value: ignored
            options:
              mustNotExist: true
          - id: get_json
            type: io.kestra.plugin.redis.string.Get
            url: {url}
            key: "{prefix}profile"
            serdeType: JSON
          - id: missing
            type: io.kestra.plugin.redis.string.Get
            url: {url}
            key: "{prefix}nothing"
          - id: delete
            type: io.kestra.plugin.redis.string.Delete
            url: {url}
            keys: ["{prefix}profile", "{prefix}nothing"]
          - id: strict
            type: io.kestra.plugin.redis.string.Get
            url: {url}
            key: "{prefix}profile"
            failedOnMissing: true
            allowFailure: true
        """)
    assert ran.outputs("swap")["oldValue"] == "hello strings"
    assert ran.outputs("get_json") == {"data": {"name": "ann", "n": 2}, "key": f"{prefix}profile"}
    assert ran.outputs("missing")["data"] is None
    assert ran.outputs("delete")["count"] == 1
    assert ran.task_state("strict") == "WARNING"
    client = redis.Redis.from_url(url)
    assert client.get(f"{prefix}greeting") == b"bye"


def test_list_push_pop_and_publish(url: str, prefix: str, root: Any, eager: None) -> None:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    pubsub.subscribe(f"{prefix}events")
    pubsub.get_message(timeout=1)
    received: list[bytes] = []

    def listen() -> None:
        for _ in range(20):
            message = pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                received.append(message["data"])
            if len(received) == 2:
                return

    listener = threading.Thread(target=listen)
    listener.start()
    ran = execute(root, f"""\
        id: lists
        namespace: {NS}
        tasks:
          - id: push
            type: io.kestra.plugin.redis.list.ListPush
            url: {url}
            key: "{prefix}jobs"
            from: ["a", "b", "c"]
          - id: push_json
            type: io.kestra.plugin.redis.list.ListPush
            url: {url}
            key: "{prefix}objs"
            from: '[{{"id": 1}}, {{"id": 2}}]'
            serdeType: JSON
          - id: pop
            type: io.kestra.plugin.redis.list.ListPop
            url: {url}
            key: "{prefix}jobs"
            count: 2
            maxRecords: 10
          - id: pop_json
            type: io.kestra.plugin.redis.list.ListPop
            url: {url}
            key: "{prefix}objs"
            serdeType: JSON
            maxDuration: PT5S
          - id: publish
            type: io.kestra.plugin.redis.pubsub.Publish
            url: {url}
            channel: "{prefix}events"
            from: ["loaded", "done"]
        """)
    listener.join()
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("push")["count"] == 3
    assert read(ran.outputs("pop")["uri"]).decode() == '"c"\n"b"\n"a"\n'
    assert [ion.loads(x) for x in read(ran.outputs("pop_json")["uri"]).decode().splitlines()] == [
        {"id": 2}, {"id": 1}]
    assert ran.outputs("publish")["count"] == 2
    assert received == [b"loaded", b"done"]
    assert json.loads(b"[]") == []


def test_redis_on_loopback_is_refused_by_default(url: str, root: Any, eager: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(egress.ENV, raising=False)
    ran = execute(root, f"""\
        id: refused
        namespace: {NS}
        tasks:
          - id: get
            type: io.kestra.plugin.redis.string.Get
            url: {url}
            key: anything
        """)
    assert ran.task_state("get") == "FAILED"
    assert any("destination not allowed" in line for line in ran.logs("get"))
