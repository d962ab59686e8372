"""The polling-trigger SDK contract (KESTRA.md §4.5): evaluated with a lease token, zero or one
execution per evaluation, errors recorded on the trigger without stopping it, no overlap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.plugins.registry import registry
from apps.plugins.sdk import PollingTrigger, PollingTriggerProperties, PollResult, TriggerContext
from apps.triggers import polling, scheduler
from apps.triggers.models import TriggerState

pytestmark = pytest.mark.django_db
TYPE = "tests.triggers.Probe"


class Probe(PollingTrigger):
    """A polling trigger for tests: fires, stays quiet or fails as told."""

    type = TYPE
    title = "Probe"
    group = "tests.triggers"
    icon = "probe"

    class Properties(PollingTriggerProperties):
        mode: str = "fire"

    def evaluate(self, ctx: TriggerContext, props: Any) -> PollResult | None:
        if props.mode == "fail":
            raise RuntimeError("the source is unreachable")
        if props.mode == "quiet":
            return None
        return PollResult(variables={"seen": ctx.render("{{ flow.id }}")}, labels={"source": "probe"})


@pytest.fixture(autouse=True)
def _probe() -> Iterator[None]:
    registry.ensure_loaded()
    registry.register(Probe)
    yield
    registry._plugins.pop(TYPE, None)


def flow(mode: str) -> str:
    return f"""\
id: poller
namespace: acme
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.seen }}}}"
triggers:
  - id: probe
    type: {TYPE}
    interval: PT30S
    mode: {mode}
"""


def claimed(now: Any) -> TriggerState:
    scheduler.tick(now)
    state = TriggerState.objects.get(trigger_id="probe")
    assert state.worker_id and state.evaluate_running_date == now
    return state


def test_an_evaluation_creates_one_execution_then_waits_an_interval(writer: Any) -> None:
    flow_services.create_flow(writer, flow("fire"))
    now = timezone.now()
    state = claimed(now)
    assert state.evaluate_at == now + polling.EVALUATION_TIMEOUT  # the lease
    polling.evaluate(state.id, "a stale token")  # an evaluation that lost its lease changes nothing
    assert not Execution.objects.exists()
    polling.evaluate(state.id, state.worker_id)
    [row] = Execution.objects.all()
    assert row.trigger == {"id": "probe", "type": TYPE, "variables": {"seen": "poller"}}
    assert {"key": "source", "value": "probe"} in row.labels
    state.refresh_from_db()
    assert state.execution_id == row.id and not state.worker_id and state.evaluate_running_date is None
    assert state.evaluate_at is not None and state.evaluate_at > timezone.now() + timedelta(seconds=25)
    polling.evaluate(state.id, "")  # a second delivery of the same message: nothing
    assert Execution.objects.count() == 1

    # No overlap: while that execution runs, the trigger is not evaluated.
    TriggerState.objects.update(evaluate_at=now)
    scheduler.tick(now + timedelta(seconds=1))
    state.refresh_from_db()
    assert not state.worker_id and state.evaluate_at > now + timedelta(seconds=1)


def test_errors_are_recorded_and_do_not_stop_the_trigger(writer: Any) -> None:
    flow_services.create_flow(writer, flow("fail"))
    state = claimed(timezone.now())
    polling.evaluate(state.id, state.worker_id)
    state.refresh_from_db()
    assert "RuntimeError: the source is unreachable" in state.last_error
    assert not Execution.objects.exists() and not state.disabled and state.evaluate_at is not None
    flow_services.update_flow(writer, "acme", "poller", flow("quiet"))
    TriggerState.objects.update(evaluate_at=timezone.now() - timedelta(seconds=1))
    state = claimed(timezone.now())
    polling.evaluate(state.id, state.worker_id)
    state.refresh_from_db()
    assert state.last_error == "" and not Execution.objects.exists()
