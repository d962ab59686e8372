"""kestrapy calls beyond the first suite: flows enabled/disabled/deleted in bulk, the flow of an
execution, replay with new inputs, and a flow's metrics (scripts/kestra_api_coverage.py lists
what the SDK calls and what Weir serves; docs/kestra-api.md keeps that list)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kestra.conftest import TENANT
from tests.kestra.test_kestrapy import GREET, NS, SLOW, _flow, _follow_to_end, _state

pytestmark = pytest.mark.django_db(transaction=True)

BY_NS = [{"field": "namespace", "operation": "EQUALS", "value": NS}]


def test_flows_disable_enable_and_delete_in_bulk(kestra: Any) -> None:
    from kestrapy.exceptions import ConflictException, NotFoundException
    from kestrapy.models.id_with_namespace import IdWithNamespace

    kestra.flows.create_flow(TENANT, GREET)
    kestra.flows.create_flow(TENANT, SLOW)
    kestra.flows.create_flow(TENANT, SLOW.replace(NS, "acme.other"))

    assert kestra.flows.disable_flows_by_ids(TENANT, [IdWithNamespace(namespace=NS, id="greet")]).count == 1
    greet = kestra.flows.flow(NS, "greet", TENANT)
    assert greet.disabled and greet.revision == 2 and greet.source.endswith("disabled: true\n")
    with pytest.raises(ConflictException):
        kestra.executions.create_execution(TENANT, NS, "greet", inputs={"name": "x"})

    # By query: only the flows the query selects, and only those not already in that state.
    assert kestra.flows.disable_flows_by_query(TENANT, filters=BY_NS).count == 1
    assert kestra.flows.flow(NS, "slow", TENANT).disabled
    assert not kestra.flows.flow("acme.other", "slow", TENANT).disabled
    assert kestra.flows.enable_flows_by_query(TENANT, filters=BY_NS).count == 2
    greet = kestra.flows.flow(NS, "greet", TENANT)
    assert not greet.disabled and greet.revision == 3 and "disabled: false" in greet.source
    assert greet.source.count("disabled:") == 1  # the line is replaced, not added again
    done = kestra.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": "on"})
    assert _state(done) == "SUCCESS"

    assert kestra.flows.enable_flows_by_ids(TENANT, [IdWithNamespace(namespace=NS, id="greet")]).count == 0
    with pytest.raises(NotFoundException):
        kestra.flows.disable_flows_by_ids(TENANT, [IdWithNamespace(namespace=NS, id="greet"),
                                                   IdWithNamespace(namespace=NS, id="nope")])
    assert not kestra.flows.flow(NS, "greet", TENANT).disabled  # nothing half-done

    assert kestra.flows.delete_flows_by_query(TENANT, filters=BY_NS).count == 2
    assert [(f.namespace, f.id) for f in kestra.flows.search_flows(TENANT).results] == [("acme.other", "slow")]


def test_the_flow_of_an_execution(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, GREET)
    done = kestra.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": "ada"})
    kestra.flows.update_flow(NS, "greet", TENANT, GREET.replace("x{{", "times {{"))

    ran = kestra.executions.flow_from_execution_by_id(done.id, TENANT)
    assert (ran.namespace, ran.id, ran.revision) == (NS, "greet", 1)
    assert [t.id for t in ran.tasks] == ["hello", "out"] and ran.draft is False
    assert "x{{" in ran.tasks[0].additional_properties["message"]
    latest = kestra.executions.flow_from_execution(TENANT, NS, "greet")
    assert latest.revision == 2 and "times {{" in latest.tasks[0].additional_properties["message"]
    assert kestra.executions.flow_from_execution(TENANT, NS, "greet", revision=1).revision == 1


def test_replay_with_inputs(kestra: Any) -> None:
    from kestrapy.exceptions import UnprocessableEntityException

    kestra.flows.create_flow(TENANT, GREET)
    first = kestra.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": "ada", "times": 2})

    replay = kestra.executions.replay_execution_with_inputs(first.id, TENANT, inputs={"name": "bo"})
    assert replay.id != first.id
    assert _follow_to_end(kestra, replay.id)[-1] == "SUCCESS"
    again = kestra.executions.execution(replay.id, TENANT)
    assert again.inputs == {"name": "bo", "times": 1, "payload": None}  # as sent, typed as on creation
    assert again.additional_properties["outputs"] == {"shout": "BO"}
    assert again.parent_id == first.id
    assert kestra.executions.execution(first.id, TENANT).inputs == {"name": "ada", "times": 2, "payload": None}

    before = kestra.executions.search_executions(TENANT, filters=BY_NS)["total"]
    with pytest.raises(UnprocessableEntityException) as refused:
        kestra.executions.replay_execution_with_inputs(first.id, TENANT, inputs={"name": "cy", "times": "many"})
    assert "times" in refused.value.body
    assert kestra.executions.search_executions(TENANT, filters=BY_NS)["total"] == before  # no replay left


CONVERT = _flow("convert", """\
inputs:
  - id: rows
    type: FILE
tasks:
  - id: to_ion
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{ inputs.rows }}"
""")


def test_flow_metrics_names_tasks_and_aggregates(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, CONVERT)
    for count in (2, 3):
        body = b"".join(b'{"n": %d}\n' % i for i in range(count))
        done = kestra.executions.create_execution(TENANT, NS, "convert", wait=True, inputs={"rows": ("r.jsonl", body)})
        assert _state(done) == "SUCCESS"

    assert kestra.metrics.flow_metric_names(NS, "convert", TENANT) == ["records"]
    assert kestra.metrics.tasks_with_metrics(NS, "convert", TENANT) == ["to_ion"]
    assert kestra.metrics.task_metric_names(NS, "convert", "to_ion", TENANT) == ["records"]
    assert kestra.metrics.task_metric_names(NS, "convert", "other", TENANT) == []

    summed = kestra.metrics.aggregate_flow_metric(NS, "convert", "records", TENANT)
    assert summed["groupBy"] == "day"
    assert [(a["name"], a["value"]) for a in summed["aggregations"]] == [("records", 5.0)]
    biggest = kestra.metrics.aggregate_task_metric(NS, "convert", "to_ion", "records", TENANT, aggregation="max")
    assert [a["value"] for a in biggest["aggregations"]] == [3.0]


def test_execution_actions_in_bulk(kestra: Any) -> None:
    from kestrapy.exceptions import ConflictException
    from kestrapy.models.execution_controller_set_labels_by_ids_request import (
        ExecutionControllerSetLabelsByIdsRequest,
    )
    from kestrapy.models.label import Label

    from tests.kestra.test_kestrapy import BROKEN, _wait_state

    kestra.flows.create_flow(TENANT, SLOW)
    running = [kestra.executions.create_execution(TENANT, NS, "slow").id for _ in range(2)]
    for execution_id in running:
        _wait_state(kestra, execution_id, "RUNNING")
    assert kestra.executions.kill_executions_by_ids(TENANT, running) == {"count": 2}
    assert [_follow_to_end(kestra, execution_id)[-1] for execution_id in running] == ["KILLED", "KILLED"]
    with pytest.raises(ConflictException) as again:
        kestra.executions.kill_executions_by_ids(TENANT, running)
    assert "already finished" in again.value.body and running[0] in again.value.body

    kestra.flows.create_flow(TENANT, BROKEN)
    failed = [kestra.executions.create_execution(TENANT, NS, "broken", wait=True).id for _ in range(2)]
    broken = [*BY_NS, {"field": "flowId", "operation": "EQUALS", "value": "broken"}]
    assert kestra.executions.restart_executions_by_query(TENANT, filters=broken) == {"count": 2}
    for execution_id in failed:
        assert _follow_to_end(kestra, execution_id)[-1] == "FAILED"
        assert kestra.executions.execution(execution_id, TENANT).metadata.attempt_number == 2

    labelled = kestra.executions.set_labels_on_terminated_executions_by_ids(
        TENANT, ExecutionControllerSetLabelsByIdsRequest(executions_id=failed,
                                                         execution_labels=[Label(key="triage", value="done")]))
    assert labelled == {"count": 2}
    found = kestra.executions.search_executions(
        TENANT, filters=[{"field": "labels", "operation": "EQUALS", "value": {"triage": "done"}}])
    assert sorted(row["id"] for row in found["results"]) == sorted(failed)

    # Only terminated executions are deleted; a running one is left alone by a query.
    still = kestra.executions.create_execution(TENANT, NS, "slow").id
    _wait_state(kestra, still, "RUNNING")
    assert kestra.executions.delete_executions_by_query(TENANT, filters=BY_NS) == {"count": 4}
    left = kestra.executions.search_executions(TENANT, filters=BY_NS)
    assert [row["id"] for row in left["results"]] == [still]
