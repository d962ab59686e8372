"""What a namespace adds to its flows at run time: `namespace.variables`, plugin defaults, and
which other namespaces may start its flows as subflows (DESIGN.md §7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.executions.models import Execution, LogLine, TaskRun
from apps.executions.runtime import lifecycle
from apps.flows import services as flow_services
from apps.namespaces import services as ns_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager() -> Iterator[None]:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _run(namespace: str, flow_id: str) -> Execution:
    row = ex_services.create_execution(namespace, flow_id, inputs_mode="none", start=False)
    lifecycle.start(row.id)
    row.refresh_from_db()
    return row


def test_namespace_variables_are_inherited_and_overridden_by_children(owner: Any, eager: None) -> None:
    ns_services.create(owner, "acme", {"variables": {"region": "eu", "tier": "gold"}})
    ns_services.create(owner, "acme.data", {"variables": {"tier": "silver"}})
    flow_services.create_flow(owner, """id: where
namespace: acme.data
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{{ namespace.id }} {{ namespace.variables.region }} {{ namespace.variables.tier }}"
""")

    row = _run("acme.data", "where")

    assert row.state == "SUCCESS"
    assert TaskRun.objects.get(execution_id=row.id, task_id="say").outputs == {"value": "acme.data eu silver"}


def test_an_edited_variable_is_seen_by_the_next_execution(owner: Any, eager: None) -> None:
    ns_services.create(owner, "acme", {"variables": {"greeting": "hello"}})
    flow_services.create_flow(owner, """id: greet
namespace: acme
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{{ namespace.variables.greeting }}"
""")
    assert TaskRun.objects.get(execution_id=_run("acme", "greet").id).outputs == {"value": "hello"}

    ns_services.update(owner, "acme", {"variables": {"greeting": "bonjour"}})

    assert TaskRun.objects.get(execution_id=_run("acme", "greet").id).outputs == {"value": "bonjour"}


def test_namespace_plugin_defaults_apply_under_the_flows_own(owner: Any, eager: None) -> None:
    ns_services.create(owner, "acme", {"pluginDefaults": [
        {"type": "io.kestra.plugin.core.log.Log", "values": {"level": "WARN"}}]})
    flow_services.create_flow(owner, """id: plain
namespace: acme
tasks:
  - id: note
    type: io.kestra.plugin.core.log.Log
    message: from the namespace default
""")
    flow_services.create_flow(owner, """id: own
namespace: acme
pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      level: ERROR
tasks:
  - id: note
    type: io.kestra.plugin.core.log.Log
    message: from the flow's default
""")

    plain, own = _run("acme", "plain"), _run("acme", "own")

    assert list(LogLine.objects.filter(execution_id=plain.id, task_id="note").values_list("level", flat=True)) == [
        "WARN"]
    assert list(LogLine.objects.filter(execution_id=own.id, task_id="note").values_list("level", flat=True)) == [
        "ERROR"]


CALLER = """id: caller
namespace: {namespace}
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: other.team
    flowId: child
"""
CHILD = """id: child
namespace: other.team
tasks:
  - id: hi
    type: io.kestra.plugin.core.debug.Return
    format: hi
"""


def test_a_subflow_in_another_tree_needs_the_targets_permission(owner: Any, eager: None) -> None:
    flow_services.create_flow(owner, CHILD)
    flow_services.create_flow(owner, CALLER.format(namespace="acme"))

    denied = _run("acme", "caller")

    assert denied.state == "FAILED"
    assert not Execution.objects.filter(flow_id="child").exists()
    messages = list(LogLine.objects.filter(execution_id=denied.id, level="ERROR").values_list("message", flat=True))
    assert any("may not start flows in 'other.team'" in m for m in messages), messages

    ns_services.update(owner, "other", {"allowedNamespaces": ["acme"]})
    allowed = _run("acme", "caller")

    assert allowed.state == "SUCCESS"
    assert Execution.objects.get(flow_id="child").state == "SUCCESS"


def test_a_subflow_in_a_sibling_namespace_needs_the_siblings_permission(owner: Any, eager: None) -> None:
    flow_services.create_flow(owner, CHILD)
    flow_services.create_flow(owner, CALLER.format(namespace="other.caller"))

    assert _run("other.caller", "caller").state == "FAILED"

    ns_services.update(owner, "other.team", {"allowedNamespaces": ["other.caller"]})

    assert _run("other.caller", "caller").state == "SUCCESS"
