"""Worker outcomes on a busy execution (apps/executions/runtime/results.py, docs/adr/0007).

A worker that finds its execution locked leaves its attempt's outcome on the task run and
goes on; whoever holds the lock applies it after committing. These tests hold the lock from a
second connection (a thread) at the exact moment a worker finishes, on PostgreSQL, where
`SKIP LOCKED` makes the worker not wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.engine import planner
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.engine.states import State
from apps.executions import services as ex_services
from apps.executions.models import LogLine, TaskRun
from apps.executions.runtime import lifecycle, results, runner, scheduler, worker
from apps.executions.runtime.runcontext import WorkerRunContext
from apps.flows import services as flow_services
from tests.executions.lockholders import in_thread, lock_held

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The tasks go to a worker group's queue that no worker serves: the test drives the worker's
# functions itself, and an in-process worker started by other tests (tests/live, tests/browser)
# must not take its task runs.
QUEUE = "weir.wg.outcomes-test"
FAN = """id: fan
namespace: acme.outcomes
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: a
        type: io.kestra.plugin.core.debug.Return
        format: A
        workerGroup: {key: outcomes-test}
      - id: b
        type: io.kestra.plugin.core.debug.Return
        format: B
        workerGroup: {key: outcomes-test}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: done
    workerGroup: {key: outcomes-test}
"""


@pytest.fixture
def started(writer: Any, settings: Any) -> str:
    settings.WEIR_WORKER_GROUPS = ["outcomes-test"]
    flow_services.create_flow(writer, FAN)
    row = ex_services.create_execution("acme.outcomes", "fan", inputs_mode="none", start=False)
    lifecycle.start(row.id)
    return str(row.id)


def _claim(execution_id: str, task_id: str) -> tuple[str, int]:
    row = TaskRun.objects.get(execution_id=execution_id, task_id=task_id)
    assert worker._claim(row.id, row.attempt_no)
    return row.id, row.attempt_no + 1


def _context(execution_id: str, run_id: str, *lines: str) -> WorkerRunContext:
    ex_row, data = runner.snapshot(execution_id)
    flow = runner.compiled(ex_row.namespace, ex_row.flow_id, ex_row.flow_revision)
    run = data.run(run_id)
    ctx = WorkerRunContext(flow, data, run, flow.node(run.task_id), threading.Event())
    for line in lines:
        ctx.log("INFO", line)
    return ctx


def _finish(execution_id: str, task_id: str, run_id: str, attempt: int, *lines: str) -> ExecutionData | None:
    ctx = _context(execution_id, run_id, *lines)
    return worker._finish(execution_id, run_id, attempt, State.SUCCESS, {"value": task_id.upper()}, ctx, None)


def _state(run_id: str) -> tuple[str, Any, Any]:
    row = TaskRun.objects.get(id=run_id)
    return row.state, row.outputs, row.result


def test_a_busy_execution_gets_the_outcome_left_on_the_run_and_applied_later(started: str) -> None:
    run_id, attempt = _claim(started, "a")

    with in_thread(lock_held(started)):
        assert _finish(started, "a", run_id, attempt, "hello from a") is None
        state, outputs, result = _state(run_id)
        assert (state, outputs) == ("RUNNING", None)
        assert result["attempt"] == attempt and result["state"] == "SUCCESS"
        assert result["logs"] == [["INFO", "hello from a"]]

    runner.drain(started)

    assert _state(run_id) == ("SUCCESS", {"value": "A"}, None)
    lines = list(LogLine.objects.filter(execution_id=started, task_run_id=run_id).values_list("seq", "message"))
    assert [m for _, m in lines] == ["hello from a"]
    seqs = list(LogLine.objects.filter(execution_id=started).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_decision_holding_the_lock_applies_what_was_left_meanwhile(started: str) -> None:
    """No one calls drain: the holder looks for outcomes after its own commit."""
    a_id, a_attempt = _claim(started, "a")
    b_id, b_attempt = _claim(started, "b")
    entered = threading.Event()

    def decide(ready: threading.Event, release: threading.Event) -> None:
        def slow_event(flow: CompiledFlow, data: ExecutionData, env: Any) -> Effects:
            ready.set()
            entered.set()
            release.wait(10)
            return planner.advance(flow, data, env)

        runner.process(started, slow_event)

    with in_thread(decide):
        assert entered.is_set()
        assert _finish(started, "a", a_id, a_attempt) is None
        assert _finish(started, "b", b_id, b_attempt) is None

    assert _state(a_id)[:2] == ("SUCCESS", {"value": "A"})
    assert _state(b_id)[:2] == ("SUCCESS", {"value": "B"})
    after = TaskRun.objects.get(execution_id=started, task_id="after")
    assert after.state == "CREATED" and after.plan.get("dispatched") == 0


def test_an_outcome_for_an_attempt_that_is_no_longer_current_keeps_only_its_logs(started: str) -> None:
    run_id, attempt = _claim(started, "a")
    TaskRun.objects.filter(id=run_id).update(result={
        "attempt": attempt + 5, "state": "SUCCESS", "outputs": {"value": "stale"},
        "logs": [["WARN", "from a lost attempt"]], "labels": None})

    runner.drain(started)

    assert _state(run_id) == ("RUNNING", None, None)
    assert list(LogLine.objects.filter(task_run_id=run_id).values_list("message", flat=True)) == [
        "from a lost attempt"]


def test_the_reaper_applies_a_stranded_outcome_instead_of_running_the_task_again(started: str) -> None:
    run_id, attempt = _claim(started, "a")
    with in_thread(lock_held(started)):
        assert _finish(started, "a", run_id, attempt) is None
    TaskRun.objects.filter(id=run_id).update(lease_until=timezone.now() - timedelta(seconds=5))

    scheduler.reap()

    row = TaskRun.objects.get(id=run_id)
    assert (row.state, row.attempt_no, row.result) == ("SUCCESS", attempt, None)


def test_a_free_execution_applies_the_outcome_at_once_and_hands_over_the_next_task(started: str) -> None:
    run_id, attempt = _claim(started, "a")
    b_id, b_attempt = _claim(started, "b")
    _finish(started, "a", run_id, attempt)
    inline = runner.Inline(QUEUE, "test-worker")
    ctx = _context(started, b_id)

    data = worker._finish(started, b_id, b_attempt, State.SUCCESS, {"value": "B"}, ctx, inline)

    assert data is not None and inline.claimed is not None and inline.claimed.task_id == "after"
    after = TaskRun.objects.get(id=inline.claimed.id)
    assert (after.state, after.attempt_no, after.worker) == ("RUNNING", 1, "test-worker")
    assert after.lease_until is not None and after.lease_until > timezone.now()


def test_a_decision_that_waited_for_the_lock_sees_what_the_holder_wrote(started: str) -> None:
    """The task runs are read after the lock is granted: a statement that waited for the lock
    must not read them as they were before the holder committed (READ COMMITTED snapshots).
    Here each of two decisions ends one branch of the Parallel; the second must see the first's
    result, or neither starts `after` and the execution hangs."""
    a_id, a_attempt = _claim(started, "a")
    b_id, b_attempt = _claim(started, "b")

    def ends(run_id: str, attempt: int, value: str) -> Callable[[CompiledFlow, ExecutionData, Any], Effects]:
        outcome = results.Outcome(attempt, State.SUCCESS, {"value": value})
        return lambda flow, data, env: results.fold(flow, data, {run_id: outcome}, env)

    def end_a_slowly(ready: threading.Event, release: threading.Event) -> None:
        def event(flow: CompiledFlow, data: ExecutionData, env: Any) -> Effects:
            ready.set()
            release.wait(10)
            return ends(a_id, a_attempt, "A")(flow, data, env)

        runner.process(started, event)

    errors: list[BaseException] = []

    def end_b() -> None:
        try:
            runner.process(started, ends(b_id, b_attempt, "B"))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    with in_thread(end_a_slowly):
        waiter = threading.Thread(target=end_b)
        waiter.start()
        for _ in range(200):  # until the second decision is blocked on the row lock
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()")
                if cursor.fetchone()[0]:
                    break
            threading.Event().wait(0.05)
    waiter.join(20)

    assert not errors, errors
    assert _state(a_id)[0] == _state(b_id)[0] == "SUCCESS"
    assert TaskRun.objects.filter(execution_id=started, task_id="after").count() == 1
