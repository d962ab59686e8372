"""A flow with a concurrency limit: when one execution ends, the worker whose decision ended it
starts the flow's next queued execution and runs that execution's first task itself, without a
message (runtime/lifecycle.py `release_queue`, runner `current_offer`).

The task goes to a worker group's queue that no worker serves: the test drives the worker's
functions itself and counts the messages in Redis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from apps.executions import census
from apps.executions import services as ex_services
from apps.executions.models import Execution, TaskRun
from apps.executions.runtime import lifecycle, runner, worker
from apps.flows import services as flow_services

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

QUEUE = "weir.wg.queued-test"
FLOW = """id: one_at_a_time
namespace: acme.queued
concurrency:
  limit: 1
  behavior: QUEUE
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.id }}"
    workerGroup: {key: queued-test}
"""


@pytest.fixture
def broker(settings: Any) -> Iterator[Any]:
    settings.WEIR_WORKER_GROUPS = ["queued-test"]
    census.override({QUEUE: 2})
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(QUEUE)
    yield client
    client.delete(QUEUE)
    census.forget()


def _run(execution_id: str) -> TaskRun:
    return TaskRun.objects.get(execution_id=execution_id, task_id="only")


def test_the_worker_that_ends_an_execution_runs_the_next_queued_ones_first_task(writer: Any, broker: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    first, second, third = (str(ex_services.create_execution("acme.queued", "one_at_a_time", inputs_mode="none").id)
                            for _ in range(3))
    assert [Execution.objects.get(id=i).state for i in (first, second, third)] == ["RUNNING", "QUEUED", "QUEUED"]
    assert broker.llen(QUEUE) == 1  # the first execution's task; the queued ones have none yet

    run = _run(first)
    worker.execute(run.id, run.attempt_no, QUEUE)  # one message: then inline, execution after execution

    assert [Execution.objects.get(id=i).state for i in (first, second, third)] == ["SUCCESS"] * 3
    assert [_run(i).outputs for i in (first, second, third)] == [{"value": i} for i in (first, second, third)]
    assert broker.llen(QUEUE) == 1  # nothing else was published
    assert {_run(i).worker for i in (second, third)} == {worker.WORKER_ID}


def test_an_offer_already_used_is_not_passed_on(writer: Any, broker: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    first, second = (str(ex_services.create_execution("acme.queued", "one_at_a_time", inputs_mode="none").id)
                     for _ in range(2))
    Execution.objects.filter(id=first).update(state="SUCCESS")  # its slot is free
    used = runner.Inline(QUEUE, "busy-worker", claimed=runner.to_run(_run(first)))  # it took a run already
    lifecycle.release_queue("acme.queued", "one_at_a_time", 1, used)
    assert Execution.objects.get(id=second).state == "RUNNING"
    assert _run(second).state == "CREATED" and broker.llen(QUEUE) == 2  # published, not claimed
