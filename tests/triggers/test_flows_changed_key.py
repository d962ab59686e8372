"""The Flow triggers' listeners are cached under a key of the flows' state
(`flow_services.FLOWS_CHANGED`). The decision that ends an execution reads that key in its own
pipeline, right after its COMMIT, so an execution's end costs no round trip of its own for it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from apps.executions import services as ex_services
from apps.executions.models import Execution, TaskRun
from apps.executions.runtime import worker
from apps.flows import services as flow_services
from apps.triggers import flowtriggers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

UPSTREAM = """id: up
namespace: acme.keyed
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: done
"""

LISTENER = """id: down
namespace: acme.keyed
tasks:
  - id: b
    type: io.kestra.plugin.core.debug.Return
    format: heard
triggers:
  - id: on-up
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: acme.keyed
        flowId: up
"""


def _flows_key() -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(flow_services.FLOWS_CHANGED)
        return tuple(cursor.fetchone())


def _run_to_the_end(execution_id: str) -> None:
    run = TaskRun.objects.get(execution_id=execution_id, task_id="a")
    worker.execute(run.id, run.attempt_no, run.queue)
    assert Execution.objects.get(id=execution_id).state == "SUCCESS"


def test_the_ending_decision_hands_the_flows_key_to_the_flow_triggers(
        writer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flow_services.create_flow(writer, UPSTREAM)
    seen: list[tuple[Any, ...] | None] = []
    listeners = flowtriggers.listeners

    def watched(flows_seen: tuple[Any, ...] | None = None) -> list[flowtriggers.Listener]:
        seen.append(flows_seen)
        return listeners(flows_seen)

    monkeypatch.setattr(flowtriggers, "listeners", watched)
    execution = ex_services.create_execution("acme.keyed", "up", inputs_mode="none")
    _run_to_the_end(str(execution.id))
    assert seen == [_flows_key()]  # read by the decision, not asked again


def test_a_flow_trigger_saved_just_before_the_end_hears_it(writer: Any) -> None:
    flow_services.create_flow(writer, UPSTREAM)
    execution = ex_services.create_execution("acme.keyed", "up", inputs_mode="none")
    flowtriggers.listeners()  # cached while no flow listens
    flow_services.create_flow(writer, LISTENER)  # the key changes: the cache is read again
    _run_to_the_end(str(execution.id))
    heard = Execution.objects.filter(namespace="acme.keyed", flow_id="down")
    assert heard.count() == 1
    assert heard.get().trigger["variables"]["executionId"] == str(execution.id)
