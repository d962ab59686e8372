"""Flow triggers end to end (KESTRA.md §4.3; conformance trigger-flow*, trigger-multiplecondition-*,
flow-trigger-preconditions-*): an upstream execution ends, the listener flow starts with inputs
rendered from it. Celery runs eagerly, so the listener has run when the upstream call returns."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

NS = "io.kestra.tests.trigger"

UPSTREAM = """\
id: {id}
namespace: {ns}
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "from parents: {{{{execution.id}}}}"
"""

FAILING = """\
id: {id}
namespace: {ns}
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
"""

LISTENER = f"""\
id: trigger-flow-listener
namespace: {NS}
inputs:
  - id: from-parent
    type: STRING
tasks:
  - id: only-listener
    type: io.kestra.plugin.core.debug.Return
    format: "childs: {{{{inputs['from-parent']}}}}"
triggers:
  - id: listen-flow
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      from-parent: '{{{{ outputs.only.value }}}}'
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in:
          - SUCCESS
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: {NS}
        flowId: trigger-flow
"""

MULTIPLE = f"""\
id: trigger-multiplecondition-listener
namespace: {NS}
tasks:
  - id: only-listener
    type: io.kestra.plugin.core.debug.Return
    format: "childs"
triggers:
  - id: multiple-listen-flow
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - id: multiple
        type: io.kestra.plugin.core.condition.MultipleCondition
        window: P1D
        windowAdvance: P0D
        conditions:
          success:
            type: io.kestra.plugin.core.condition.ExecutionStatus
            in:
              - SUCCESS
          flow-a:
            type: io.kestra.plugin.core.condition.ExecutionFlow
            namespace: {NS}
            flowId: trigger-multiplecondition-flow-a
          flow-b:
            type: io.kestra.plugin.core.condition.ExecutionFlow
            namespace: {NS}
            flowId: trigger-multiplecondition-flow-b
"""

PRE_NS = "io.kestra.tests.trigger.preconditions"
PRECONDITIONS = f"""\
id: flow-trigger-preconditions-flow-listen
namespace: {PRE_NS}
triggers:
  - id: flow
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: flow
      flows:
        - namespace: {PRE_NS}
          flowId: flow-trigger-preconditions-flow-a
          states: [SUCCESS, WARNING, FAILED]
        - namespace: {PRE_NS}
          flowId: flow-trigger-preconditions-flow-b
          states: [SUCCESS]
      where:
        - id: flow1
          filters:
            - field: NAMESPACE
              type: STARTS_WITH
              value: io.kestra.tests.trigger
            - field: FLOW_ID
              type: EQUAL_TO
              value: flow-trigger-preconditions-flow-a
            - field: EXPRESSION
              type: IS_TRUE
              value: "{{{{labels.some == 'label'}}}}"
        - id: flow2
          filters:
            - field: NAMESPACE
              type: ENDS_WITH
              value: trigger.preconditions
            - field: FLOW_ID
              type: EQUAL_TO
              value: flow-trigger-preconditions-flow-b
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "It works"
"""


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    from apps.executions.runtime import runner
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    runner.clear_compiled()
    yield
    app.conf.task_always_eager = before
    runner.clear_compiled()


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def deploy(user: Any, source: str) -> None:
    from apps.flows.services import save_flow

    save_flow(user, textwrap.dedent(source))


def run(user: Any, flow_id: str, ns: str = NS, source: str = UPSTREAM) -> Any:
    """Deploy an upstream flow (unless it exists) and run it to its end."""
    from apps.executions import services
    from apps.executions.runtime import lifecycle
    from apps.flows.models import Flow

    if not Flow.objects.filter(namespace=ns, flow_id=flow_id).exists():
        deploy(user, source.format(id=flow_id, ns=ns))
    row = services.create_execution(ns, flow_id, inputs_mode="none", start=False)
    lifecycle.start(row.id)
    return services.wait(row.id, 20)


def runs_of(flow_id: str) -> list[Any]:
    from apps.executions import services
    from apps.executions.models import Execution

    ids = Execution.objects.filter(flow_id=flow_id).order_by("created").values_list("id", flat=True)
    return [services.wait(i, 20) for i in ids]


def output(execution_id: str, task_id: str) -> Any:
    from apps.executions.models import TaskRun

    return dict(TaskRun.objects.get(execution_id=execution_id, task_id=task_id).outputs or {})["value"]


def test_listener_gets_inputs_rendered_from_the_upstream(root: Any) -> None:
    deploy(root, LISTENER)
    upstream = run(root, "trigger-flow")
    assert upstream.state == "SUCCESS"
    [listener] = runs_of("trigger-flow-listener")
    assert listener.state == "SUCCESS"
    assert listener.inputs == {"from-parent": f"from parents: {upstream.id}"}
    assert output(listener.id, "only-listener") == f"childs: from parents: {upstream.id}"
    assert listener.trigger == {
        "id": "listen-flow", "type": "io.kestra.plugin.core.trigger.Flow",
        "variables": {"executionId": upstream.id, "namespace": NS, "flowId": "trigger-flow",
                      "flowRevision": upstream.flow_revision, "state": "SUCCESS"},
    }


def test_status_and_flow_conditions_filter(root: Any) -> None:
    deploy(root, LISTENER)
    run(root, "trigger-flow", source=FAILING)
    run(root, "other-flow")
    assert runs_of("trigger-flow-listener") == []


def test_states_default_to_terminal_and_can_be_narrowed(root: Any) -> None:
    deploy(root, f"""\
        id: on-failure
        namespace: {NS}
        tasks:
          - id: log
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ trigger.flowId }}}} {{{{ trigger.state }}}}"
        triggers:
          - id: failures
            type: io.kestra.plugin.core.trigger.Flow
            states: [FAILED]
            conditions:
              - type: io.kestra.plugin.core.condition.ExecutionNamespace
                namespace: io.kestra.tests
                comparison: PREFIX
          - id: any-end
            type: io.kestra.plugin.core.trigger.Flow
            conditions:
              - type: io.kestra.plugin.core.condition.ExecutionFlow
                namespace: {NS}
                flowId: ok
        """)
    run(root, "ok")
    run(root, "broken", source=FAILING)
    by_trigger = {r.trigger["id"]: r for r in runs_of("on-failure")}
    assert set(by_trigger) == {"failures", "any-end"}
    assert output(by_trigger["failures"].id, "log") == "broken FAILED"
    assert output(by_trigger["any-end"].id, "log") == "ok SUCCESS"


def test_a_flow_never_triggers_itself(root: Any) -> None:
    deploy(root, f"""\
        id: self-listener
        namespace: {NS}
        tasks:
          - id: only
            type: io.kestra.plugin.core.debug.Return
            format: x
        triggers:
          - id: anything
            type: io.kestra.plugin.core.trigger.Flow
        """)
    run(root, "self-listener")
    assert len(runs_of("self-listener")) == 1
    run(root, "someone-else")
    assert len(runs_of("self-listener")) == 2


def test_multiple_condition_fires_once_both_flows_succeeded(root: Any) -> None:
    deploy(root, MULTIPLE)
    run(root, "trigger-multiplecondition-flow-a")
    assert runs_of("trigger-multiplecondition-listener") == []
    run(root, "trigger-multiplecondition-flow-b")
    [listener] = runs_of("trigger-multiplecondition-listener")
    assert listener.state == "SUCCESS"
    assert listener.trigger["variables"]["flowId"] == "trigger-multiplecondition-flow-b"
    run(root, "trigger-multiplecondition-flow-b")  # reset on success: flow-a must be seen again
    assert len(runs_of("trigger-multiplecondition-listener")) == 1


def test_multiple_condition_ignores_failed_upstreams_and_may_keep_results(root: Any) -> None:
    deploy(root, MULTIPLE.replace("id: multiple\n", "id: multiple\n        resetOnSuccess: false\n").replace(
        "      - id: multiple", "      - type: io.kestra.plugin.core.condition.ExecutionStatus\n"
        "        in: [SUCCESS]\n      - id: multiple"))
    run(root, "trigger-multiplecondition-flow-a", source=FAILING)
    run(root, "trigger-multiplecondition-flow-b")
    assert runs_of("trigger-multiplecondition-listener") == []
    deploy(root, UPSTREAM.format(id="trigger-multiplecondition-flow-a", ns=NS))
    run(root, "trigger-multiplecondition-flow-a")
    assert len(runs_of("trigger-multiplecondition-listener")) == 1
    run(root, "trigger-multiplecondition-flow-b")  # resetOnSuccess: false keeps flow-a's result
    assert len(runs_of("trigger-multiplecondition-listener")) == 2


def test_preconditions_need_both_upstreams_and_their_filters(root: Any) -> None:
    deploy(root, PRECONDITIONS)
    run(root, "flow-trigger-preconditions-flow-a", ns=PRE_NS)  # no `some: label`: the where filter fails
    run(root, "flow-trigger-preconditions-flow-b", ns=PRE_NS)
    assert runs_of("flow-trigger-preconditions-flow-listen") == []
    deploy(root, "labels:\n  some: label\n" + UPSTREAM.format(id="flow-trigger-preconditions-flow-a", ns=PRE_NS))
    run(root, "flow-trigger-preconditions-flow-a", ns=PRE_NS)
    [listener] = runs_of("flow-trigger-preconditions-flow-listen")
    assert listener.state == "SUCCESS"
    assert listener.trigger["variables"]["flowId"] == "flow-trigger-preconditions-flow-a"


def test_preconditions_window_expiry_forgets_what_was_met(root: Any) -> None:
    from apps.executions.models import KVEntry

    deploy(root, PRECONDITIONS)
    deploy(root, "labels:\n  some: label\n" + UPSTREAM.format(id="flow-trigger-preconditions-flow-a", ns=PRE_NS))
    run(root, "flow-trigger-preconditions-flow-a", ns=PRE_NS)
    entry = KVEntry.objects.get(namespace=PRE_NS, scope="trigger")
    assert isinstance(entry.value, dict)
    past = timezone.now() - timedelta(days=3)
    entry.value = {**entry.value, "start": past.isoformat(), "end": (past + timedelta(days=1)).isoformat()}
    entry.save()
    run(root, "flow-trigger-preconditions-flow-b", ns=PRE_NS)
    assert runs_of("flow-trigger-preconditions-flow-listen") == []
    run(root, "flow-trigger-preconditions-flow-a", ns=PRE_NS)
    assert len(runs_of("flow-trigger-preconditions-flow-listen")) == 1


def test_sliding_window_and_reset_on_success_false(root: Any) -> None:
    from apps.executions.models import KVEntry

    deploy(root, PRECONDITIONS.replace("      id: flow\n", "      id: flow\n      resetOnSuccess: false\n"
                                       "      timeWindow:\n        type: SLIDING_WINDOW\n        window: PT1H\n"))
    deploy(root, "labels:\n  some: label\n" + UPSTREAM.format(id="flow-trigger-preconditions-flow-a", ns=PRE_NS))
    run(root, "flow-trigger-preconditions-flow-a", ns=PRE_NS)
    run(root, "flow-trigger-preconditions-flow-b", ns=PRE_NS)
    run(root, "flow-trigger-preconditions-flow-b", ns=PRE_NS)
    assert len(runs_of("flow-trigger-preconditions-flow-listen")) == 2
    entry = KVEntry.objects.get(namespace=PRE_NS, scope="trigger")
    assert isinstance(entry.value, dict)
    old = (timezone.now() - timedelta(hours=2)).isoformat()
    entry.value = {**entry.value, "results": {k: old for k in entry.value["results"]}}
    entry.save()
    run(root, "flow-trigger-preconditions-flow-b", ns=PRE_NS)
    assert len(runs_of("flow-trigger-preconditions-flow-listen")) == 2


def test_outputs_condition_and_trigger_outputs_in_inputs(root: Any) -> None:
    deploy(root, f"""\
        id: producer
        namespace: {NS}
        tasks:
          - id: count
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ 40 + 2 }}}}"
        outputs:
          - id: rows
            type: INT
            value: "{{{{ outputs.count.value }}}}"
        """)
    deploy(root, f"""\
        id: consumer
        namespace: {NS}
        inputs:
          - id: rows
            type: INT
        tasks:
          - id: show
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ inputs.rows + 1 }}}} {{{{ trigger.outputs.rows }}}}"
        triggers:
          - id: on-rows
            type: io.kestra.plugin.core.trigger.Flow
            inputs:
              rows: "{{{{ trigger.outputs.rows }}}}"
            labels:
              source: "{{{{ trigger.flowId }}}}"
            conditions:
              - type: io.kestra.plugin.core.condition.ExecutionOutputs
                expression: "{{{{ trigger.outputs.rows > 40 }}}}"
        """)
    run(root, "producer")
    run(root, "no-outputs")
    [consumer] = runs_of("consumer")
    assert consumer.state == "SUCCESS"
    assert output(consumer.id, "show") == "43 42"
    assert {"key": "source", "value": "producer"} in consumer.labels


def test_bad_inputs_disabled_triggers_and_new_listeners(root: Any) -> None:
    deploy(root, LISTENER.replace("outputs.only.value", "outputs.invalid.value"))
    deploy(root, LISTENER.replace("id: trigger-flow-listener\n", "id: disabled-listener\n")
           .replace("    type: io.kestra.plugin.core.trigger.Flow\n",
                    "    type: io.kestra.plugin.core.trigger.Flow\n    disabled: true\n"))
    deploy(root, LISTENER.replace("id: trigger-flow-listener\n", "id: disabled-flow\n") + "disabled: true\n")
    assert run(root, "trigger-flow").state == "SUCCESS"
    assert runs_of("trigger-flow-listener") == runs_of("disabled-listener") == runs_of("disabled-flow") == []
    deploy(root, LISTENER.replace("id: trigger-flow-listener\n", "id: late-listener\n"))
    run(root, "trigger-flow")
    assert len(runs_of("late-listener")) == 1


@pytest.mark.parametrize(("spec", "now", "start", "end"), [
    ({}, "2024-12-16T15:30:00+00:00", "2024-12-16T00:00:00+00:00", "2024-12-17T00:00:00+00:00"),
    ({"window": "PT6H", "windowAdvance": "PT3H"}, "2024-12-16T15:30:00+00:00",
     "2024-12-16T15:00:00+00:00", "2024-12-16T21:00:00+00:00"),
    ({"window": "PT6H", "windowAdvance": "PT3H"}, "2024-12-16T01:00:00+00:00",
     "2024-12-15T21:00:00+00:00", "2024-12-16T03:00:00+00:00"),
    ({"type": "SLIDING_WINDOW", "window": "PT1H"}, "2024-12-16T15:30:00+00:00",
     "2024-12-16T14:30:00+00:00", "2024-12-16T15:30:00+00:00"),
    ({"type": "DAILY_TIME_DEADLINE", "deadline": "09:00:00"}, "2024-12-16T08:00:00+00:00",
     "2024-12-16T00:00:00+00:00", "2024-12-16T09:00:00+00:00"),
    ({"type": "DAILY_TIME_DEADLINE", "deadline": "09:00:00"}, "2024-12-16T10:00:00+00:00", None, None),
    ({"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00", "endTime": "09:00:00"}, "2024-12-16T07:00:00+00:00",
     "2024-12-16T06:00:00+00:00", "2024-12-16T09:00:00+00:00"),
    ({"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00", "endTime": "09:00:00"}, "2024-12-16T05:00:00+00:00",
     None, None),
], ids=["duration-default", "duration-advance", "duration-advance-before", "sliding", "deadline", "deadline-passed",
        "daily-window", "daily-window-outside"])
def test_time_windows(spec: dict[str, Any], now: str, start: str | None, end: str | None) -> None:
    from apps.triggers.flowtriggers import window_at

    window = window_at(spec, datetime.fromisoformat(now))
    if start is None:
        assert window is None
        return
    assert window is not None
    assert (window.start, window.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end or ""))


def test_inputs_that_do_not_validate_are_passed_as_rendered(root: Any) -> None:
    deploy(root, f"""\
        id: trigger-flow-listener-namespace-condition
        namespace: {NS}
        inputs:
          - id: from-parent
            type: STRING
        tasks:
          - id: only-listener
            type: io.kestra.plugin.core.debug.Return
            format: "simple return"
        triggers:
          - id: listen-flow
            type: io.kestra.plugin.core.trigger.Flow
            conditions:
              - type: io.kestra.plugin.core.condition.ExecutionNamespace
                namespace: {NS}
              - type: io.kestra.plugin.core.condition.ExecutionStatus
                in:
                  - SUCCESS
        """)
    upstream = run(root, "trigger-flow")
    [listener] = runs_of("trigger-flow-listener-namespace-condition")
    assert listener.state == "SUCCESS"
    assert listener.trigger["variables"]["executionId"] == upstream.id


def test_non_terminal_transitions_reach_triggers_that_name_them(root: Any) -> None:
    from apps.triggers import flowtriggers

    deploy(root, f"""\
        id: trigger-flow-listener-with-pause
        namespace: {NS}
        outputs:
          - id: status
            type: STRING
            value: "{{{{trigger.state}}}}"
        tasks:
          - id: hello
            type: io.kestra.plugin.core.log.Log
            message: Hello {{{{trigger.executionId}}}} you're in {{{{trigger.state}}}}
        triggers:
          - id: listen-flow
            type: io.kestra.plugin.core.trigger.Flow
            states: [RUNNING, PAUSED, SUCCESS]
            conditions:
              - type: io.kestra.plugin.core.condition.ExecutionFlow
                namespace: {NS}
                flowId: trigger-flow
        """)
    upstream = run(root, "trigger-flow")
    flowtriggers.on_state_change(upstream.id, "RUNNING")
    flowtriggers.on_state_change(upstream.id, "CREATED")
    flowtriggers.on_state_change(upstream.id, "SUCCESS")  # terminal states are on_execution_end's
    statuses = [(r.outputs or {}).get("status") for r in runs_of("trigger-flow-listener-with-pause")]
    assert statuses == ["SUCCESS", "RUNNING"]
