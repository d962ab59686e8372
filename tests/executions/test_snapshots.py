"""The per-thread view of an execution's task runs (apps/executions/runtime/snapshots.py).

A decision reads only the rows written since the horizon of the view it cached last time. These
tests change rows behind the cache's back, from another connection, between two decisions of
this thread, and check that the second decision sees exactly what the database holds.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from django.db import connection

from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.executions import services as ex_services
from apps.executions.models import TaskRun
from apps.executions.runtime import runner, snapshots
from apps.flows import services as flow_services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A worker group no worker serves: nothing runs the tasks but this test.
WIDE = """id: wide
namespace: acme.snapshots
tasks:
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
""" + "".join(f"""      - id: t{i}
        type: io.kestra.plugin.core.debug.Return
        format: "{i}"
        workerGroup: {{key: snapshots-test}}
""" for i in range(12))


@pytest.fixture
def wide(writer: Any, settings: Any) -> str:
    settings.WEIR_WORKER_GROUPS = ["snapshots-test"]
    flow_services.create_flow(writer, WIDE)
    return str(ex_services.create_execution("acme.snapshots", "wide", inputs_mode="none").id)


def _seen(execution_id: str) -> ExecutionData:
    """What a decision of this thread is handed (it decides nothing)."""
    seen: list[ExecutionData] = []

    def look(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        seen.append(data)
        return Effects()

    runner.process(execution_id, look)
    return seen[0]


def _elsewhere(sql: str, params: list[Any]) -> None:
    """A write from another connection (another worker), committed at once."""
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as other:
        other.execute(sql, params)


def _truth(execution_id: str) -> list[tuple[str, str, Any]]:
    return list(TaskRun.objects.filter(execution_id=execution_id).order_by("seq")
                .values_list("id", "state", "outputs"))


def _view(data: ExecutionData) -> list[tuple[str, str, Any]]:
    return [(run.id, run.state.value, run.outputs) for run in data.task_runs]


def test_a_row_changed_by_another_connection_is_read_again(wide: str) -> None:
    first = _seen(wide)
    assert len(first.task_runs) == 13 and snapshots._local.entries.get(wide) is not None
    target = next(run.id for run in first.task_runs if run.task_id == "t7")
    _elsewhere("UPDATE weir_task_run SET state = 'RUNNING', outputs = %s WHERE id = %s",
               [json.dumps({"value": "seven"}), target])
    second = _seen(wide)
    assert _view(second) == _truth(wide)
    assert second.run(target).outputs == {"value": "seven"}


def test_a_deleted_row_makes_the_next_read_a_full_one(wide: str) -> None:
    first = _seen(wide)
    gone = next(run.id for run in first.task_runs if run.task_id == "t3")
    _elsewhere("DELETE FROM weir_task_run WHERE id = %s", [gone])
    second = _seen(wide)
    assert gone not in {run.id for run in second.task_runs}
    assert _view(second) == _truth(wide)


def test_an_outcome_left_on_a_row_is_pending_for_the_next_decision(wide: str) -> None:
    first = _seen(wide)
    target = next(run for run in first.task_runs if run.task_id == "t0")
    _elsewhere("UPDATE weir_task_run SET state = 'RUNNING', attempt_no = 1, attempts = %s WHERE id = %s",
               [json.dumps([{"state": "RUNNING"}]), target.id])
    _seen(wide)  # the claim is now in this thread's view
    _elsewhere("UPDATE weir_task_run SET result = %s WHERE id = %s",
               [json.dumps({"attempt": 1, "state": "SUCCESS", "outputs": {"value": "0"}, "logs": []}), target.id])
    runner.drain(wide)
    state, outputs, result = TaskRun.objects.filter(id=target.id).values_list("state", "outputs", "result")[0]
    assert (state, outputs, result) == ("SUCCESS", {"value": "0"}, None)
    assert _view(_seen(wide)) == _truth(wide)


def test_a_view_is_kept_only_when_its_decision_commits(wide: str) -> None:
    _seen(wide)
    snapshots.forget(wide)

    def fail(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        raise RuntimeError("the decision fails")

    with pytest.raises(RuntimeError):
        runner.process(wide, fail)
    assert wide not in snapshots._local.entries
    assert _view(_seen(wide)) == _truth(wide)


def _deletions(execution_id: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM weir_run_deletions WHERE execution_id = %s", [execution_id])
        found = cursor.fetchone()
    return None if found is None else int(found[0])


def test_deletions_are_counted_per_statement_and_forgotten_with_the_execution(wide: str) -> None:
    first = _seen(wide)
    assert _deletions(wide) is None
    doomed = [run.id for run in first.task_runs if run.task_id in ("t1", "t2")]
    _elsewhere("DELETE FROM weir_task_run WHERE id = ANY(%s)", [doomed])
    assert _deletions(wide) == 1  # one statement, one bump, however many rows it took
    assert snapshots._local.entries[wide].deletions == 0
    assert _view(_seen(wide)) == _truth(wide)
    assert snapshots._local.entries[wide].deletions == 1
    _elsewhere("DELETE FROM weir_task_run WHERE execution_id = %s", [wide])
    assert _deletions(wide) == 2
    _elsewhere("DELETE FROM weir_execution WHERE id = %s", [wide])
    assert _deletions(wide) is None
