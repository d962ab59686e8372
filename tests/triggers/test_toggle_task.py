"""`io.kestra.plugin.core.trigger.Toggle`: a running flow turns a trigger off and on (its own,
or within its reach another flow's), as the UI's switch does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.executions.runtime import lifecycle
from apps.flows import services as flow_services
from apps.triggers import sync
from apps.triggers.models import TriggerState
from tests.triggers.conftest import schedule_flow

pytestmark = pytest.mark.django_db(transaction=True)

TOGGLER = """\
id: turn_{state}
namespace: {namespace}
tasks:
  - id: flip
    type: io.kestra.plugin.core.trigger.Toggle
    namespace: acme
    flowId: nightly
    trigger: every
    enabled: {enabled}
"""


def toggler(namespace: str, on: bool) -> str:
    return TOGGLER.format(namespace=namespace, state="on" if on else "off", enabled="true" if on else "false")


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    from apps.executions.runtime import runner
    from config.celery import app

    app.conf.task_always_eager = True
    runner.clear_compiled()
    yield
    app.conf.task_always_eager = False
    runner.clear_compiled()


def run(namespace: str, on: bool) -> Any:
    row = ex_services.create_execution(namespace, f"turn_{'on' if on else 'off'}", inputs_mode="none", start=False)
    lifecycle.start(row.id)
    return ex_services.wait(row.id, 30)


def test_a_flow_turns_a_trigger_off_and_on(django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    flow_services.create_flow(root, schedule_flow())
    flow_services.create_flow(root, toggler("acme", False))
    flow_services.create_flow(root, toggler("acme", True))
    sync.reconcile_scope("acme", "nightly")
    assert run("acme", False).state == "SUCCESS"
    assert TriggerState.objects.get(flow_id="nightly").disabled
    assert run("acme", True).state == "SUCCESS"
    assert not TriggerState.objects.get(flow_id="nightly").disabled


def test_another_namespace_cannot_toggle_it_without_being_listed(django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    flow_services.create_flow(root, schedule_flow())
    flow_services.create_flow(root, toggler("betaco", False))
    sync.reconcile_scope("acme", "nightly")
    done = run("betaco", False)
    assert done.state == "FAILED"
    assert not TriggerState.objects.get(flow_id="nightly").disabled
