"""Publishing never fails or blocks the engine, whatever the broker does (apps/live/publish.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.flows import services as flow_services
from apps.live import groups, publish

FLOW = """\
id: quiet
namespace: acme.publish
tasks:
  - id: one
    type: io.kestra.plugin.core.log.Log
    message: hello
"""


@pytest.fixture
def eager(settings: Any) -> Iterator[None]:
    from config.celery import app

    settings.WEIR_EXECUTION_WAIT_SECONDS = 30
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_redis_does_not_fail_executions(settings: Any, eager: None, writer: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}
    flow_services.create_flow(writer, FLOW)
    row = ex_services.create_execution("acme.publish", "quiet")
    done = ex_services.wait(row.id, timeout=30)
    assert done.state == "SUCCESS"


def test_bad_arguments_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    publish.execution_changed(None, None, None, None, None)  # type: ignore[arg-type]
    assert "live notification failed" in caplog.text


@pytest.mark.parametrize(("namespace", "expected"), [
    ("a.b.c", ["ns", "ns.a", "ns.a.b", "ns.a.b.c"]),
    ("prod", ["ns", "ns.prod"]),
], ids=["nested", "flat"])
def test_a_namespace_is_announced_to_each_of_its_prefixes(namespace: str, expected: list[str]) -> None:
    assert groups.namespace_fanout(namespace) == expected
    assert groups.namespace(namespace) == expected[-1]


def test_names_channels_would_refuse_are_hashed() -> None:
    name = groups.execution("x" * 200)
    assert name.startswith("ex-h.") and len(name) < 100
    assert groups.namespace("été").startswith("ns-h.")


@pytest.mark.redis
def test_only_groups_someone_joined_are_sent_to() -> None:
    """One pipelined EXISTS per flush filters out the groups nobody joined; the joined ones
    still get their notice (a real channels_redis layer on the test Redis)."""
    import asyncio
    import os

    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix="weir-test-publish")

    async def scenario() -> tuple[set[str], dict[str, Any]]:
        channel = await layer.new_channel()
        await layer.group_add("ex.watched", channel)
        try:
            listened = await publish._listened(layer, ["ex.watched", "ex.unwatched", "ns.nobody"])
            await layer.group_send("ex.watched", {"type": publish.CHANGED, "logSeq": 3, "state": "RUNNING"})
            received = await asyncio.wait_for(layer.receive(channel), timeout=5)
        finally:
            await layer.group_discard("ex.watched", channel)
            await layer.flush()
        return listened, received

    listened, received = asyncio.run(scenario())
    assert listened == {"ex.watched"}
    assert received["logSeq"] == 3
