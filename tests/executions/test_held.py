"""Held runs (docs/adr/0009): a wide fan-out publishes a message for as many runs as the workers
have processes; the others wait in the database, and the workers of that execution claim them
one after another, without the broker.

The tasks go to a worker group's queue that no worker serves, and the census is fixed by the
test: the test drives the worker's functions itself and counts the messages in Redis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection

from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.executions import census
from apps.executions import services as ex_services
from apps.executions.models import Execution, TaskRun
from apps.executions.runtime import results, runner, scheduler, worker
from apps.flows import services as flow_services
from tests.executions.lockholders import in_thread, lock_held

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

QUEUE = "weir.wg.held-test"
WIDTH = 6
FAN = """id: fan
namespace: acme.held
tasks:
  - id: all
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
""" + "".join(f"""      - id: t{i}
        type: io.kestra.plugin.core.debug.Return
        format: "{i}"
        workerGroup: {{key: held-test}}
""" for i in range(WIDTH)) + """  - id: join
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.t0.value }}-joined"
    workerGroup: {key: held-test}
"""


@pytest.fixture
def broker() -> Iterator[Any]:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(QUEUE)
    yield client
    client.delete(QUEUE)


@pytest.fixture
def slots(settings: Any) -> Iterator[None]:
    settings.WEIR_WORKER_GROUPS = ["held-test"]
    census.override({QUEUE: 2})
    yield
    census.forget()


@pytest.fixture
def fan(writer: Any, slots: None, broker: Any) -> str:
    flow_services.create_flow(writer, FAN)
    return str(ex_services.create_execution("acme.held", "fan", inputs_mode="none").id)


def _runs(execution_id: str) -> dict[str, TaskRun]:
    return {row.task_id: row for row in TaskRun.objects.filter(execution_id=execution_id)}


def _another_connection(*, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection of its own to the test database: another worker's."""
    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                           dbname=settings["NAME"], autocommit=autocommit)


def _another_worker_claims_every_held_run(execution_id: str) -> list[str]:
    """What a worker's `_LEAVE_AND_CLAIM` does without the lock, on its own connection; the ids."""
    with _another_connection(autocommit=True) as other:
        return [row[0] for row in other.execute(
            "UPDATE weir_task_run SET state = 'RUNNING', attempt_no = attempt_no + 1, worker = 'other' "
            "WHERE execution_id = %s AND plan ? 'held' AND state = 'CREATED' RETURNING id", [execution_id])]


def _published(execution_id: str) -> list[str]:
    return [r.task_id for r in _runs(execution_id).values() if r.state == "CREATED" and not r.plan.get("held")
            and r.task_id != "all"]


def test_a_fan_out_publishes_as_many_runs_as_there_are_processes(fan: str, broker: Any) -> None:
    runs = _runs(fan)
    held = sorted(r.task_id for r in runs.values() if r.plan.get("held"))
    assert len(_published(fan)) == 2 and broker.llen(QUEUE) == 2
    assert len(held) == WIDTH - 2
    assert all(runs[t].state == "CREATED" and runs[t].dispatched_at is not None for t in held)


def test_the_workers_of_the_execution_run_every_held_run_without_a_message(fan: str, broker: Any) -> None:
    for task_id in _published(fan):
        run = _runs(fan)[task_id]
        worker.execute(run.id, run.attempt_no, QUEUE)
    assert Execution.objects.get(id=fan).state == "SUCCESS"
    runs = _runs(fan)
    assert runs["join"].outputs == {"value": "0-joined"}
    assert all(r.state == "SUCCESS" for r in runs.values())
    assert broker.llen(QUEUE) == 2  # the two first messages, never taken from Redis here; no other


def test_a_worker_whose_outcome_went_to_the_lock_holder_takes_a_held_run(fan: str) -> None:
    first = _runs(fan)[_published(fan)[0]]
    held_before = {r.id for r in _runs(fan).values() if r.plan.get("held")}
    with in_thread(lock_held(fan)):
        data = worker._claim(first.id, first.attempt_no)
        assert data is not None
        nxt = worker._run_one(worker.Attempt(first.id, first.attempt_no + 1, data, partial=True),
                              runner.Inline(QUEUE, worker.WORKER_ID))
    assert nxt is not None and nxt.task_run_id in held_before  # claimed the way a message would
    assert TaskRun.objects.get(id=nxt.task_run_id).state == "RUNNING"
    assert TaskRun.objects.get(id=first.id).result is not None  # left for whoever holds the lock next
    runner.drain(fan)
    assert TaskRun.objects.get(id=first.id).state == "SUCCESS"


def test_a_held_run_another_worker_claimed_meanwhile_is_not_run_twice(fan: str) -> None:
    first = _runs(fan)[_published(fan)[0]]
    assert worker._claim(first.id, first.attempt_no) is not None
    taken: list[str] = []

    def finish_while_another_claims(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        # Between this decision's read and its writes, another worker claims every held run.
        taken.extend(_another_worker_claims_every_held_run(fan))
        return Effects()

    inline = runner.Inline(QUEUE, "this-worker")
    runner.process(fan, finish_while_another_claims, inline=inline)
    assert taken and inline.claimed is None
    assert set(TaskRun.objects.filter(id__in=taken).values_list("worker", flat=True)) == {"other"}


def test_a_worker_out_of_inline_budget_publishes_a_held_run_instead(fan: str, broker: Any) -> None:
    before = broker.llen(QUEUE)
    inline = runner.Inline(QUEUE, "tired-worker", hand_off=True)
    runner.process(fan, lambda flow, data, env: Effects(), inline=inline)
    assert inline.claimed is None and inline.handed is not None
    handed = TaskRun.objects.get(id=inline.handed.id)
    assert handed.state == "CREATED" and "held" not in handed.plan
    assert broker.llen(QUEUE) == before + 1


def test_a_held_run_another_worker_claimed_meanwhile_is_not_handed_off(fan: str, broker: Any) -> None:
    before = broker.llen(QUEUE)
    taken: list[str] = []

    def decide_while_another_claims(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        # Between this decision's read and its writes, another worker claims every held run.
        taken.extend(_another_worker_claims_every_held_run(fan))
        return Effects()

    inline = runner.Inline(QUEUE, "tired-worker", hand_off=True)
    runner.process(fan, decide_while_another_claims, inline=inline)
    assert taken and inline.handed is None
    rows = TaskRun.objects.filter(id__in=taken)
    assert {(r.state, r.worker) for r in rows} == {("RUNNING", "other")}  # the claims stand
    assert broker.llen(QUEUE) == before  # and no message was sent for a run already taken


def test_a_worker_out_of_budget_whose_outcome_went_to_the_lock_holder_hands_a_held_run_off(
        fan: str, broker: Any) -> None:
    first = _runs(fan)[_published(fan)[0]]
    held_before = {r.id for r in _runs(fan).values() if r.plan.get("held")}
    before = broker.llen(QUEUE)
    with in_thread(lock_held(fan)):
        data = worker._claim(first.id, first.attempt_no)
        assert data is not None
        nxt = worker._run_one(worker.Attempt(first.id, first.attempt_no + 1, data, partial=True),
                              runner.Inline(QUEUE, worker.WORKER_ID, hand_off=True))
    assert nxt is None  # out of budget: it runs nothing more
    handed = [r for r in _runs(fan).values() if r.id in held_before and "held" not in r.plan]
    assert len(handed) == 1 and handed[0].state == "CREATED"  # but the execution keeps its worker
    assert broker.llen(QUEUE) == before + 1


def test_the_sweeper_publishes_held_runs_nobody_claimed(fan: str, broker: Any, settings: Any) -> None:
    settings.WEIR_SWEEP_SECONDS = 0
    before = broker.llen(QUEUE)
    held = TaskRun.objects.filter(execution_id=fan, plan__has_key="held", state="CREATED").count()
    assert scheduler.sweep() >= held + 2
    assert broker.llen(QUEUE) >= before + held


def test_nothing_is_held_when_the_workers_cannot_be_counted(writer: Any, settings: Any, broker: Any) -> None:
    settings.WEIR_WORKER_GROUPS = ["held-test"]
    census.override(None)
    try:
        flow_services.create_flow(writer, FAN)
        execution = ex_services.create_execution("acme.held", "fan", inputs_mode="none")
    finally:
        census.forget()
    assert not TaskRun.objects.filter(execution_id=execution.id, plan__has_key="held").exists()
    assert broker.llen(QUEUE) == WIDTH


# ---------------------------------------------------------------------------------------------
# Outcomes left in batches (docs/adr/0031)


def _counting_decisions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decided: list[str] = []
    process = runner.process

    def counted(execution_id: str, *args: Any, **kwargs: Any) -> ExecutionData | None:
        decided.append(execution_id)
        return process(execution_id, *args, **kwargs)

    monkeypatch.setattr(worker.runner, "process", counted)
    return decided


def test_a_worker_leaves_successes_and_takes_held_runs_deciding_once_per_batch(
        fan: str, monkeypatch: pytest.MonkeyPatch) -> None:
    decided = _counting_decisions(monkeypatch)
    first, second = (_runs(fan)[task_id] for task_id in _published(fan))
    worker.execute(first.id, first.attempt_no, QUEUE)
    # The first run's decision claimed a held run; the three others were taken one by one, each
    # outcome left for the next decision: the last one, which found no held run to take.
    assert len(decided) == 2
    runs = _runs(fan)
    assert sorted(r.task_id for r in runs.values() if r.state == "SUCCESS") == sorted(
        r.task_id for r in runs.values() if r.task_id not in ("all", "join", second.task_id))
    assert not any(r.result for r in runs.values())  # every outcome folded
    worker.execute(second.id, second.attempt_no, QUEUE)
    assert Execution.objects.get(id=fan).state == "SUCCESS"
    assert _runs(fan)["join"].outputs == {"value": "0-joined"}


def _leave_one(fan: str) -> tuple[TaskRun, worker.Attempt]:
    """Claim a published run and leave its outcome while taking a held run (as a batch does)."""
    first = _runs(fan)[_published(fan)[0]]
    data = worker._claim(first.id, first.attempt_no)
    assert data is not None
    current = worker.Attempt(first.id, first.attempt_no + 1, data, partial=True, held=True)
    ctx: Any = type("Ctx", (), {"logs": [("INFO", "left in a batch")], "labels": None})()
    taken = worker._leave_and_claim(current, QUEUE, worker.State.SUCCESS, {"value": "v"}, ctx)
    assert taken is not None and taken.left == 1 and taken.task_run_id != first.id
    return first, taken


def test_the_lock_holder_leaves_batched_outcomes_to_the_worker_that_left_them(fan: str) -> None:
    first, taken = _leave_one(fan)
    assert TaskRun.objects.get(id=first.id).result["batched"] is True
    assert TaskRun.objects.get(id=taken.task_run_id).state == "RUNNING"
    runner.drain(fan)  # what a decision's holder looks for after its commit
    assert TaskRun.objects.get(id=first.id).state == "RUNNING"
    runner.drain(fan, batched=True)  # the worker's own late look
    row = TaskRun.objects.get(id=first.id)
    assert row.state == "SUCCESS" and row.outputs == {"value": "v"} and row.result is None
    assert "left in a batch" in list(Execution.objects.get(id=fan).log_lines.values_list("message", flat=True))


def test_the_lease_thread_decides_on_outcomes_whose_worker_is_busy_with_a_long_task(
        fan: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "BATCH_SECONDS", 0.0)
    first, _ = _leave_one(fan)  # the worker now runs the held run it took, for as long as it takes
    assert worker.UNSETTLED.next_due() <= 0
    worker.LEASES._settle()
    assert TaskRun.objects.get(id=first.id).state == "SUCCESS"
    assert worker.UNSETTLED.due() == []


def test_an_outcome_is_not_left_when_no_held_run_is_left_to_take(fan: str) -> None:
    TaskRun.objects.filter(execution_id=fan, plan__has_key="held").update(state="SKIPPED")
    first = _runs(fan)[_published(fan)[0]]
    data = worker._claim(first.id, first.attempt_no)
    assert data is not None
    current = worker.Attempt(first.id, first.attempt_no + 1, data, partial=True, held=True)
    ctx: Any = type("Ctx", (), {"logs": [], "labels": None})()
    assert worker._leave_and_claim(current, QUEUE, worker.State.SUCCESS, None, ctx) is None
    assert TaskRun.objects.get(id=first.id).result is None  # decided on at once instead


def test_a_batched_outcome_of_a_run_killed_meanwhile_keeps_only_its_log_lines(fan: str) -> None:
    first = _runs(fan)[_published(fan)[0]]
    data = worker._claim(first.id, first.attempt_no)
    assert data is not None
    TaskRun.objects.filter(id=first.id).update(state="KILLED")
    current = worker.Attempt(first.id, first.attempt_no + 1, data, partial=True, held=True)
    ctx: Any = type("Ctx", (), {"logs": [("WARN", "too late")], "labels": None})()
    taken = worker._leave_and_claim(current, QUEUE, worker.State.SUCCESS, {"value": "v"}, ctx)
    assert taken is not None and taken.left == 0  # the held run is still this worker's to run
    row = TaskRun.objects.get(id=first.id)
    assert row.state == "KILLED" and row.result is None and row.outputs is None
    assert "too late" in list(Execution.objects.get(id=fan).log_lines.values_list("message", flat=True))


def test_a_worker_taking_a_held_run_skips_the_runs_other_workers_are_claiming(fan: str) -> None:
    """Other workers taking the first held runs at the same moment (their claims not yet
    committed) do not leave this worker idle: it takes the next held run at once."""
    held = sorted((r for r in _runs(fan).values() if r.plan.get("held")), key=lambda r: r.seq)
    busy, free = held[:3], held[3:]
    with _another_connection() as other:
        # Claims in flight elsewhere: rows locked, not yet committed.
        other.execute("UPDATE weir_task_run SET state = 'RUNNING', attempt_no = attempt_no + 1, worker = 'other' "
                      "WHERE id = ANY(%s)", [[r.id for r in busy]])
        with connection.cursor() as cursor:  # waiting for those claims would be the bug: fail, not hang
            cursor.execute("SET lock_timeout = '2s'")
        try:
            taken = worker._claim_held(fan, QUEUE)
        finally:
            other.commit()
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    assert taken is not None and taken.task_run_id == free[0].id and taken.held
    row = TaskRun.objects.get(id=free[0].id)
    assert row.state == "RUNNING" and row.worker == worker.WORKER_ID and row.attempt_no == taken.number
    assert set(TaskRun.objects.filter(id__in=[r.id for r in busy]).values_list("worker", flat=True)) == {"other"}


def test_a_worker_out_of_budget_whose_handed_run_was_taken_meanwhile_hands_another_off(
        fan: str, broker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run a decision picked to publish at the end of a worker's budget was claimed by another
    worker before the decision wrote: another held run is published, else the execution would
    lose this worker's share for the rest of the fan-out."""
    first = _runs(fan)[_published(fan)[0]]
    held_before = {r.id for r in _runs(fan).values() if r.plan.get("held")}
    before = broker.llen(QUEUE)
    stolen: list[str] = []
    fold = results.fold

    def fold_while_another_worker_claims(flow: CompiledFlow, data: ExecutionData, *args: Any) -> Effects:
        effects = fold(flow, data, *args)
        picked = runner.first_held(data, QUEUE)
        assert picked is not None
        stolen.append(picked.id)
        with _another_connection(autocommit=True) as other:
            other.execute("UPDATE weir_task_run SET state = 'RUNNING', attempt_no = attempt_no + 1, worker = 'other' "
                          "WHERE id = %s", [picked.id])
        return effects

    monkeypatch.setattr(results, "fold", fold_while_another_worker_claims)
    data = worker._claim(first.id, first.attempt_no)
    assert data is not None
    nxt = worker._run_one(worker.Attempt(first.id, first.attempt_no + 1, data, partial=True),
                          runner.Inline(QUEUE, worker.WORKER_ID, hand_off=True))
    assert nxt is None and len(stolen) == 1
    assert TaskRun.objects.get(id=stolen[0]).worker == "other"
    handed = [r for r in _runs(fan).values() if r.id in held_before and "held" not in r.plan and r.state == "CREATED"]
    assert len(handed) == 1 and handed[0].id != stolen[0]
    assert broker.llen(QUEUE) == before + 1


def test_a_held_run_another_worker_handed_off_meanwhile_is_left_to_its_message(fan: str, broker: Any) -> None:
    """A worker at the end of its budget publishes a held run without the lock (`_hand_off_held`);
    a decision that picked the same run must not claim it, or the message finds it taken and
    that worker's share of the execution is lost."""
    first = _runs(fan)[_published(fan)[0]]
    assert worker._claim(first.id, first.attempt_no) is not None
    handed: list[str] = []

    def decide_while_another_hands_off(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        with _another_connection(autocommit=True) as other:
            handed.extend(row[0] for row in other.execute(
                "UPDATE weir_task_run SET plan = plan - 'held' WHERE execution_id = %s AND plan ? 'held' RETURNING id",
                [fan]))
        return Effects()

    inline = runner.Inline(QUEUE, "this-worker")
    runner.process(fan, decide_while_another_hands_off, inline=inline)
    assert handed and inline.claimed is None
    rows = TaskRun.objects.filter(id__in=handed)
    assert {(r.state, r.worker, r.attempt_no) for r in rows} == {("CREATED", "", 0)}  # each left to its message
