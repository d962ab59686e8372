"""kestrapy's UI lists and figures on the executions API: executable namespaces and flows, a
flow's average duration, the latest execution of some flows, the distinct values of a search
field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kestra.conftest import TENANT
from tests.kestra.test_kestrapy import GREET, NS, _state

pytestmark = pytest.mark.django_db(transaction=True)


def test_executable_lists_durations_latest_and_distinct_values(kestra: Any) -> None:
    from kestrapy.exceptions import BadRequestException
    from kestrapy.models.execution_repository_interface_flow_filter import (
        ExecutionRepositoryInterfaceFlowFilter,
    )

    kestra.flows.create_flow(TENANT, GREET)
    kestra.flows.create_flow(TENANT, GREET.replace("id: greet", "id: idle"))
    kestra.flows.create_flow(TENANT, GREET.replace(NS, "acme.off") + "disabled: true\n")
    runs = [kestra.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": n}) for n in "ab"]
    assert [_state(r) for r in runs] == ["SUCCESS", "SUCCESS"]

    assert kestra.executions.list_executable_namespaces(TENANT) == [NS]  # a disabled flow cannot run
    flows = kestra.executions.list_executable_flows_by_namespace(NS, TENANT)
    assert [(f.namespace, f.id, [t.id for t in f.tasks]) for f in flows] == [
        (NS, "greet", ["hello", "out"]), (NS, "idle", ["hello", "out"])]

    average = kestra.executions.execution_average_duration(NS, "greet", TENANT)
    assert average["count"] == 2 and average["avgDurationMs"] > 0
    assert kestra.executions.execution_average_duration(NS, "idle", TENANT) == {"count": 0}

    latest = kestra.executions.latest_executions(TENANT, [
        ExecutionRepositoryInterfaceFlowFilter(namespace=NS, id="greet"),
        ExecutionRepositoryInterfaceFlowFilter(namespace=NS, id="idle")])
    assert [(row.id, row.flow_id, row.status.value) for row in latest] == [(runs[1].id, "greet", "SUCCESS")]

    assert kestra.executions.find_distinct_execution_field_values(TENANT, "NAMESPACE") == [NS]
    assert kestra.executions.find_distinct_execution_field_values(TENANT, "STATE") == ["SUCCESS"]
    assert kestra.executions.find_distinct_execution_field_values(
        TENANT, "FLOW_ID", filters=[{"field": "namespace", "operation": "EQUALS", "value": "acme.none"}]) == []
    with pytest.raises(BadRequestException):
        kestra.executions.find_distinct_execution_field_values(TENANT, "COLOUR")
