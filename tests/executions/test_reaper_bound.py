"""The reaper's bound (apps/executions/runtime/scheduler.py, docs/adr/0012): a task run whose lease expired
is re-dispatched, but the `WEIR_MAX_LEASE_EXPIRIES`-th worker in a row to lose it makes it FAIL
with the reason instead of handing a poisoned task to the next worker.

The test plays the workers itself (the claim of apps/executions/runtime/worker.py) on a worker group's
queue nobody serves, and moves the reaper's clock (`reap(now=…)`) past each lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.executions import services as ex_services
from apps.executions.models import Execution, LogLine, TaskRun
from apps.executions.runtime import lifecycle, runner, scheduler, worker
from apps.flows import services as flow_services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POISON = """id: poison
namespace: acme.reaper
tasks:
  - id: poison
    type: io.kestra.plugin.core.debug.Return
    format: never returns
    workerGroup: {key: reaper-test}
"""
REASON = "lease expired 3 times: the task was lost by 3 workers in a row; it is not dispatched again"


@pytest.fixture
def poisoned(writer: Any, settings: Any) -> str:
    settings.WEIR_WORKER_GROUPS = ["reaper-test"]
    settings.WEIR_MAX_LEASE_EXPIRIES = 3
    flow_services.create_flow(writer, POISON)
    row = ex_services.create_execution("acme.reaper", "poison", inputs_mode="none", start=False)
    lifecycle.start(row.id)
    return str(row.id)


def lose_to_a_worker(execution_id: str, clock: datetime) -> tuple[TaskRun, datetime]:
    """A worker claims the run and vanishes; the reaper runs once its lease has expired."""
    run = TaskRun.objects.get(execution_id=execution_id, task_id="poison")
    assert worker._claim(run.id, run.attempt_no) is not None
    clock = max(clock, timezone.now()) + timedelta(seconds=runner.lease_seconds() + 1)
    assert scheduler.reap(now=clock) == 1
    return TaskRun.objects.get(id=run.id), clock


def test_a_task_lost_by_too_many_workers_in_a_row_fails_with_the_reason(poisoned: str) -> None:
    clock = timezone.now()
    for lost in (1, 2):
        run, clock = lose_to_a_worker(poisoned, clock)
        assert run.state == "CREATED" and len(run.attempts) == lost  # re-dispatched
        assert all(attempt["lost"] and attempt["state"] == "FAILED" for attempt in run.attempts)

    run, clock = lose_to_a_worker(poisoned, clock)

    assert run.state == "FAILED" and len(run.attempts) == 3
    assert run.attempts[-1]["state"] == "FAILED" and run.attempts[-1]["abandoned"]
    assert REASON in LogLine.objects.filter(task_run_id=run.id).values_list("message", flat=True)
    assert Execution.objects.get(id=poisoned).state == "FAILED"
    assert scheduler.reap(now=clock + timedelta(hours=1)) == 0  # nothing left to reap


def test_the_count_is_of_losses_in_a_row(poisoned: str) -> None:
    assert scheduler.lost_in_a_row([{"lost": True}, {"state": "FAILED"}, {"lost": True}]) == 1
    assert scheduler.lost_in_a_row([{"lost": True}, {"lost": True}]) == 2
    assert scheduler.lost_in_a_row([{"lost": True}, {"lost": True, "abandoned": True}]) == 0
    assert scheduler.lost_in_a_row([]) == 0


def test_a_renewed_lease_is_not_reaped(poisoned: str) -> None:
    run = TaskRun.objects.get(execution_id=poisoned, task_id="poison")
    assert worker._claim(run.id, run.attempt_no) is not None
    assert scheduler.reap(now=timezone.now()) == 0
    assert TaskRun.objects.get(id=run.id).state == "RUNNING"
