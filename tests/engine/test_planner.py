"""The executor loop without a database (KESTRA.md §2.1, §5.3-5.6): start, runIf, disabled tasks,
errors branches, allowFailure/allowWarning, Pause, WaitFor, kill, flow outputs, flow timeout,
labels, subflows.

`engine_harness.Harness` plays runner, worker and scheduler around the pure planner, so each
test states a flow and the Kestra outcome: how many task runs, in which states, in what order.
Flowable-specific rules are in test_flowables.py, retries in test_retry.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from apps.engine import planner
from apps.engine.model import Delay
from apps.engine.states import State
from tests.engine.engine_harness import (
    START,
    Harness,
    date_problems,
    execute,
    flow,
    history,
    illegal_moves,
    render_services_shim,  # noqa: F401 (autouse fixture)
)

S = State


# -- start and the plain sequence ---------------------------------------------------------------


def test_start_runs_the_execution_and_dispatches_only_the_first_task() -> None:
    h = Harness(flow("""
        tasks:
          - id: a
            type: Return
            format: one
          - id: b
            type: Return
            format: two
    """)).start()
    assert h.ex.state == S.RUNNING
    assert history(h.ex) == ["CREATED", "RUNNING"]
    assert h.ex.start_date == START.isoformat()
    assert [r.task_id for r in h.runs()] == ["a"]
    assert h.one("a").state == S.CREATED
    assert [run_id for run_id, _ in h.queue] == [h.one("a").id]


def test_sequence_runs_in_order_and_ends_success_once() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Return
            format: "{{ flow.id }}-{{ task.id }}"
          - id: b
            type: Return
            format: "{{ outputs.a.value }} then b"
    """)
    assert h.ex.state == S.SUCCESS
    assert h.claimed == ["a", "b"]
    assert h.one("b").outputs == {"value": "test-a then b"}
    assert history(h.one("a")) == ["CREATED", "RUNNING", "SUCCESS"]
    assert h.one("a").attempts[0]["state"] == "SUCCESS"
    assert h.ended == 1
    assert h.ex.end_date is not None
    assert illegal_moves(h) == []
    assert date_problems(h) == []


def test_failed_task_stops_the_sequence() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Fail
          - id: b
            type: Return
            format: never
    """)
    assert h.ex.state == S.FAILED
    assert h.states() == {"a": ["FAILED"]}
    assert "Task failure" in h.log_messages("ERROR")


def test_a_queued_execution_starts_like_a_created_one() -> None:
    h = Harness(flow("""
        tasks:
          - id: a
            type: Return
            format: a
    """))
    h.ex.state = S.QUEUED
    h.ex.history.append({"state": "QUEUED", "date": START.isoformat()})
    h.go()
    assert history(h.ex) == ["CREATED", "QUEUED", "RUNNING", "SUCCESS"]


def test_finally_runs_after_tasks_and_errors_while_the_execution_is_running() -> None:
    h = execute("""
        tasks:
          - id: boom
            type: Fail
        errors:
          - id: handler
            type: Return
            format: "{{ execution.state }}"
        finally:
          - id: cleanup
            type: Return
            format: "{{ execution.state }} {{ tasks.boom.state }}"
    """)
    assert h.claimed == ["boom", "handler", "cleanup"]
    assert h.one("cleanup").outputs == {"value": "RUNNING FAILED"}
    assert h.ex.state == S.FAILED


def test_finally_does_not_change_a_successful_outcome() -> None:
    h = execute("""
        tasks:
          - id: ok
            type: Return
            format: ok
        finally:
          - id: cleanup
            type: Log
            message: bye
    """)
    assert h.states() == {"ok": ["SUCCESS"], "cleanup": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_advance_is_idempotent_once_nothing_changes() -> None:
    h = Harness(flow("""
        tasks:
          - id: a
            type: Return
            format: x
    """)).start()
    before = [(r.id, r.state) for r in h.runs()]
    effects = planner.advance(h.flow, h.ex, h.env())
    assert [(r.id, r.state) for r in h.runs()] == before
    assert not effects.delays and not effects.ended and not any(r.dispatch for r in h.runs())


# -- runIf ---------------------------------------------------------------------------------------


RUN_IF = [("false", "SKIPPED"), ("0", "SKIPPED"), ("-0", "SKIPPED"), ("{{ 1 == 2 }}", "SKIPPED"),
          ("true", "SUCCESS"), ("null", "SUCCESS"), ("{{ 1 == 1 }}", "SUCCESS"), ("False", "SUCCESS")]


@pytest.mark.parametrize(("condition", "expected"), RUN_IF, ids=[c for c, _ in RUN_IF])
def test_run_if_truthiness(condition: str, expected: str) -> None:
    h = execute(f"""
        tasks:
          - id: maybe
            type: Return
            format: ran
            runIf: "{condition}"
          - id: after
            type: Return
            format: after
    """)
    assert h.state("maybe") == S(expected)
    assert h.state("after") == S.SUCCESS
    assert h.ex.state == S.SUCCESS
    if expected == "SKIPPED":
        assert h.one("maybe").attempts == []
        assert "maybe" not in h.claimed


def test_run_if_render_error_fails_the_task_and_the_execution() -> None:
    h = execute("""
        tasks:
          - id: broken
            type: Return
            format: x
            runIf: "{{ outputs.missing.value }}"
          - id: after
            type: Return
            format: never
    """)
    assert h.state("broken") == S.FAILED
    assert h.ex.state == S.FAILED
    assert "after" not in h.states()
    assert any("runIf" in m for m in h.log_messages("ERROR"))


def test_run_if_false_on_a_flowable_skips_its_children() -> None:
    h = execute("""
        tasks:
          - id: seq
            type: Sequential
            runIf: "false"
            tasks:
              - id: child
                type: Return
                format: never
    """)
    assert h.states() == {"seq": ["SKIPPED"]}
    assert h.ex.state == S.SUCCESS


def test_run_if_sees_the_loop_value() -> None:
    h = execute("""
        tasks:
          - id: each
            type: ForEach
            values: ["a", "b", "c"]
            tasks:
              - id: only_b
                type: Return
                format: "{{ taskrun.value }}"
                runIf: "{{ taskrun.value == 'b' }}"
    """)
    assert [(r.value, r.state) for r in h.runs("only_b")] == [("a", S.SKIPPED), ("b", S.SUCCESS), ("c", S.SKIPPED)]
    assert h.state("each") == S.SUCCESS


def test_task_runif_conformance_flow() -> None:
    """valids/task-runif.yml: a SKIPPED run is still a task run; a render error fails the flow."""
    h = execute("""
        tasks:
          - id: executed
            type: Return
            format: "{{ task.id }}"
          - id: notexecuted
            type: Return
            format: "{{ task.id }}"
            runIf: "false"
          - id: notexecutedflowable
            type: Sequential
            runIf: "false"
            tasks:
              - id: skipped
                type: Return
                format: never
          - id: willfailedtheflow
            type: Return
            format: "{{ task.id }}"
            runIf: "{{ outputs.notexists.value }}"
    """)
    assert h.ex.state == S.FAILED
    assert len(h.runs()) == 4
    assert h.state("notexecuted") == S.SKIPPED
    assert h.state("willfailedtheflow") == S.FAILED


# -- disabled tasks ------------------------------------------------------------------------------


def test_disabled_tasks_produce_no_task_run() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Return
            format: a
          - id: off
            type: Fail
            disabled: true
          - id: off_group
            type: Sequential
            disabled: true
            tasks:
              - id: inner
                type: Fail
          - id: b
            type: Return
            format: b
    """)
    assert h.states() == {"a": ["SUCCESS"], "b": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_flowable_whose_children_are_all_disabled_ends_success() -> None:
    h = execute("""
        tasks:
          - id: group
            type: Sequential
            tasks:
              - id: off
                type: Fail
                disabled: true
    """)
    assert h.states() == {"group": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_disabled_error_task_is_not_run() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Fail
        errors:
          - id: off
            type: Log
            message: never
            disabled: true
          - id: handler
            type: Log
            message: handled
    """)
    assert h.states() == {"a": ["FAILED"], "handler": ["SUCCESS"]}
    assert h.ex.state == S.FAILED


# -- errors branches -----------------------------------------------------------------------------


def test_flow_errors_run_after_a_failure_and_the_execution_stays_failed() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Return
            format: a
          - id: boom
            type: Fail
          - id: never
            type: Return
            format: never
        errors:
          - id: e1
            type: Log
            message: "{{ task.id }}"
          - id: e2
            type: Log
            message: "{{ task.id }}"
    """)
    assert h.claimed == ["a", "boom", "e1", "e2"]
    assert h.states() == {"a": ["SUCCESS"], "boom": ["FAILED"], "e1": ["SUCCESS"], "e2": ["SUCCESS"]}
    assert h.ex.state == S.FAILED


def test_flow_errors_do_not_run_on_success() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Return
            format: a
        errors:
          - id: e
            type: Log
            message: never
    """)
    assert h.states() == {"a": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_a_failing_error_task_does_not_stop_the_error_branch() -> None:
    """Kestra's sequential resolution inside `errors` moves on after any terminal error task."""
    h = execute("""
        tasks:
          - id: a
            type: Fail
        errors:
          - id: e1
            type: Fail
          - id: e2
            type: Log
            message: still runs
    """)
    assert h.states() == {"a": ["FAILED"], "e1": ["FAILED"], "e2": ["SUCCESS"]}
    assert h.ex.state == S.FAILED


def test_local_errors_run_then_global_errors_and_the_parent_stays_failed() -> None:
    """KESTRA.md §5.6: local errors do not rescue their flowable; the flow errors run too."""
    h = execute("""
        tasks:
          - id: seq
            type: Sequential
            tasks:
              - id: boom
                type: Fail
              - id: never
                type: Return
                format: never
            errors:
              - id: local
                type: Log
                message: local
          - id: after
            type: Return
            format: never
        errors:
          - id: global
            type: Log
            message: global
    """)
    assert h.claimed == ["boom", "local", "global"]
    assert h.states() == {"seq": ["FAILED"], "boom": ["FAILED"], "local": ["SUCCESS"], "global": ["SUCCESS"]}
    assert h.ex.state == S.FAILED
    local = h.one("local")
    assert local.parent_id == h.one("seq").id


def test_sequential_with_local_errors_conformance_counts() -> None:
    """valids/sequential-with-local-errors.yaml: 6 task runs, FAILED."""
    h = execute("""
        tasks:
          - id: parent-seq
            type: Sequential
            tasks:
              - id: t1
                type: Return
                format: "{{ task.id }}"
              - id: t2_seq
                type: Sequential
                tasks:
                  - id: t2-t1
                    type: Fail
                  - id: t2-t2
                    type: Return
                    format: never
                  - id: t2-t3
                    type: Return
                    format: never
                errors:
                  - id: error-t1
                    type: Return
                    format: "{{ task.id }}"
                  - id: error-t2
                    type: Return
                    format: "{{ task.id }}"
    """)
    assert len(h.runs()) == 6
    assert h.ex.state == S.FAILED
    assert h.state("t2_seq") == S.FAILED and h.state("parent-seq") == S.FAILED


def test_error_task_sees_the_failed_task_state() -> None:
    h = execute("""
        tasks:
          - id: boom
            type: Fail
        errors:
          - id: report
            type: Return
            format: "{{ tasks.boom.state }}"
    """)
    assert h.one("report").outputs == {"value": "FAILED"}


# -- allowFailure / allowWarning -----------------------------------------------------------------


ALLOW = [
    ("allowFailure: true", S.FAILED, S.WARNING),
    ("{allowFailure: true, allowWarning: true}", S.FAILED, S.SUCCESS),
    ("allowWarning: true", S.WARNING, S.SUCCESS),
    ("allowWarning: true", S.FAILED, S.FAILED),
    ("allowFailure: false", S.WARNING, S.WARNING),
]


@pytest.mark.parametrize(("props", "outcome", "expected"), ALLOW,
                         ids=["failure", "failure+warning", "warning", "warning-on-failure", "plain-warning"])
def test_allow_failure_and_allow_warning(props: str, outcome: State, expected: State) -> None:
    flags = props.strip("{}").split(", ")
    h = execute(f"""
        tasks:
          - id: t
            type: Return
            format: x
            {flags[0]}
            {flags[-1]}
          - id: next
            type: Return
            format: next
    """, script={"t": outcome})
    assert h.state("t") == expected
    if expected == S.FAILED:
        assert "next" not in h.states()
        assert h.ex.state == S.FAILED
    else:
        assert h.state("next") == S.SUCCESS
        assert h.ex.state == expected


def test_allow_failure_on_a_flowable() -> None:
    """valids/task-allow-failure-flowable.yml: seq + fail + log-allowed, execution WARNING."""
    h = execute("""
        tasks:
          - id: seq
            type: Sequential
            allowFailure: true
            tasks:
              - id: fail
                type: Fail
              - id: log-not-allowed
                type: Log
                message: never
          - id: log-allowed
            type: Log
            message: runs
    """)
    assert h.states() == {"seq": ["WARNING"], "fail": ["FAILED"], "log-allowed": ["SUCCESS"]}
    assert h.ex.state == S.WARNING


def test_allow_failure_does_not_trigger_flow_errors() -> None:
    h = execute("""
        tasks:
          - id: t
            type: Fail
            allowFailure: true
        errors:
          - id: e
            type: Log
            message: never
    """)
    assert h.states() == {"t": ["WARNING"]}
    assert h.ex.state == S.WARNING


# -- Pause ---------------------------------------------------------------------------------------


PAUSE_FLOW = """
    tasks:
      - id: pause
        type: Pause
        {props}
      - id: last
        type: Return
        format: "{{{{ outputs.pause ?? 'none' }}}}"
"""


def test_manual_pause_waits_for_a_resume() -> None:
    h = Harness(flow(PAUSE_FLOW.format(props=""))).go()
    assert h.ex.state == S.PAUSED
    assert h.states() == {"pause": ["PAUSED"]}
    assert h.pending == []
    h.resume()
    h.run()
    assert h.states() == {"pause": ["SUCCESS"], "last": ["SUCCESS"]}
    assert h.status() == S.SUCCESS
    assert history(h.ex) == ["CREATED", "RUNNING", "PAUSED", "RESTARTED", "RUNNING", "SUCCESS"]
    assert illegal_moves(h) == []
    assert date_problems(h) == []


def test_pause_delay_resumes_by_itself_after_the_delay() -> None:
    h = Harness(flow(PAUSE_FLOW.format(props="delay: PT5M"))).start()
    assert h.ex.state == S.PAUSED
    (delay,) = h.delays("pause_delay")
    assert delay.due == START + timedelta(minutes=5)
    h.run()
    assert h.now >= delay.due
    assert h.states() == {"pause": ["SUCCESS"], "last": ["SUCCESS"]}
    assert history(h.one("pause")) == ["CREATED", "RUNNING", "PAUSED", "RUNNING", "SUCCESS"]
    assert h.status() == S.SUCCESS


def test_pause_timeout_fails_the_task_run_when_nobody_resumes() -> None:
    """valids/pause-timeout.yaml: PAUSED, then FAILED at the timeout; nothing after it runs."""
    h = Harness(flow(PAUSE_FLOW.format(props="timeout: PT1M"))).start()
    (timeout,) = h.delays("pause_timeout")
    assert timeout.due == START + timedelta(minutes=1)
    h.run()
    assert h.states() == {"pause": ["FAILED"]}
    assert h.ex.state == S.FAILED
    assert history(h.one("pause")).count("PAUSED") == 1


def test_resume_before_the_timeout_makes_the_timeout_a_no_op() -> None:
    h = Harness(flow(PAUSE_FLOW.format(props="timeout: PT1M"))).start()
    h.resume()
    h.run(delays=False)
    assert h.ex.state == S.SUCCESS
    h.wake(h.delays("pause_timeout")[0])
    assert h.ex.state == S.SUCCESS and h.state("pause") == S.SUCCESS


def test_pause_on_resume_outputs_reach_later_tasks() -> None:
    h = Harness(flow("""
        tasks:
          - id: approve
            type: Pause
            onResume:
              - id: reason
                type: STRING
          - id: last
            type: Return
            format: "{{ outputs.approve.onResume.reason }}"
    """)).go()
    h.resume({"reason": "looks good"})
    h.run()
    assert h.one("approve").outputs == {"onResume": {"reason": "looks good"}}
    assert h.one("last").outputs == {"value": "looks good"}


def test_pause_with_children_runs_them_after_the_resume() -> None:
    h = Harness(flow("""
        tasks:
          - id: pause
            type: Pause
            tasks:
              - id: child
                type: Return
                format: child
          - id: last
            type: Return
            format: last
    """)).go()
    assert h.states() == {"pause": ["PAUSED"]}
    h.resume()
    h.run()
    assert h.claimed == ["child", "last"]
    assert h.states() == {"pause": ["SUCCESS"], "child": ["SUCCESS"], "last": ["SUCCESS"]}


def test_pauses_with_delays_inside_each_parallel_all_resume() -> None:
    """valids/each-parallel-pause.yml: three Pauses PAUSED together, each resumes after its delay."""
    h = Harness(flow("""
        tasks:
          - id: each
            type: EachParallel
            value: ["toto", "tata", "titi"]
            tasks:
              - id: pause
                type: Pause
                delay: PT1S
                tasks:
                  - id: log
                    type: Log
                    message: Hello World
    """)).start()
    assert [r.state for r in h.runs("pause")] == [S.PAUSED] * 3
    assert h.ex.state == S.PAUSED
    assert len(h.delays("pause_delay")) == 3
    h.run()
    assert h.states() == {"each": ["SUCCESS"], "pause": ["SUCCESS"] * 3, "log": ["SUCCESS"] * 3}
    assert h.status() == S.SUCCESS
    assert illegal_moves(h) == []


def test_execution_stays_paused_until_the_last_parallel_pause_resumes() -> None:
    h = Harness(flow("""
        tasks:
          - id: both
            type: Parallel
            tasks:
              - id: p1
                type: Pause
              - id: p2
                type: Pause
    """)).go()
    assert h.states() == {"both": ["RUNNING"], "p1": ["PAUSED"], "p2": ["PAUSED"]}
    assert h.ex.state == S.PAUSED
    h.resume()
    assert h.state("p1") == S.SUCCESS
    assert h.ex.state == S.PAUSED
    h.resume()
    assert h.status() == S.SUCCESS


# -- WaitFor -------------------------------------------------------------------------------------


def counter(h: Harness, run: object) -> tuple[State, dict[str, str]]:
    """A child that returns how many times it ran so far."""
    return S.SUCCESS, {"value": str(h.claimed.count("check"))}


def test_wait_for_repeats_until_the_condition_holds() -> None:
    h = execute("""
        tasks:
          - id: loop
            type: WaitFor
            condition: "{{ outputs.check.value == '3' }}"
            checkFrequency:
              interval: PT10S
            tasks:
              - id: check
                type: Return
                format: scripted
          - id: after
            type: Return
            format: "{{ outputs.loop.iterationCount }}"
    """, script={"check": counter})
    loop = h.one("loop")
    assert loop.state == S.SUCCESS
    assert [r.iteration for r in h.runs("check")] == [0, 1, 2]
    assert all(r.parent_id == loop.id for r in h.runs("check"))
    assert loop.outputs == {"iterationCount": 3}
    assert h.one("after").outputs == {"value": "3"}
    waits = [d for d in h.delivered if d.kind == "wait_for"]
    assert len(waits) == 2
    assert waits[1].due - waits[0].due >= timedelta(seconds=10)
    assert h.ex.state == S.SUCCESS


@pytest.mark.parametrize(("fail", "expected"), [("false", S.SUCCESS), ("true", S.FAILED)], ids=["success", "fail"])
def test_wait_for_stops_at_max_iterations(fail: str, expected: State) -> None:
    h = execute(f"""
        tasks:
          - id: loop
            type: WaitFor
            condition: "false"
            failOnMaxReached: {fail}
            checkFrequency:
              maxIterations: 3
              interval: PT1S
            tasks:
              - id: check
                type: Return
                format: again
    """)
    assert len(h.runs("check")) == 3
    assert h.state("loop") == expected
    assert h.one("loop").outputs == {"iterationCount": 3}
    assert h.ex.state == expected


def test_wait_for_stops_once_max_duration_has_elapsed() -> None:
    h = execute("""
        tasks:
          - id: loop
            type: WaitFor
            condition: "false"
            checkFrequency:
              maxIterations: 100
              maxDuration: PT25S
              interval: PT10S
            tasks:
              - id: check
                type: Return
                format: again
    """)
    assert 3 <= len(h.runs("check")) <= 4
    assert h.state("loop") == S.SUCCESS
    starts = [r.start_date for r in h.runs("check")]
    assert all(start is not None and start < (START + timedelta(seconds=35)).isoformat() for start in starts)


def test_wait_for_child_failure_fails_the_loop() -> None:
    h = execute("""
        tasks:
          - id: loop
            type: WaitFor
            condition: "false"
            tasks:
              - id: check
                type: Fail
    """)
    assert h.states() == {"loop": ["FAILED"], "check": ["FAILED"]}
    assert h.ex.state == S.FAILED


# -- kill ----------------------------------------------------------------------------------------


def test_kill_before_the_worker_claims_kills_created_runs() -> None:
    h = Harness(flow("""
        tasks:
          - id: a
            type: Return
            format: a
          - id: b
            type: Return
            format: b
    """)).start()
    effects = h.kill()
    assert h.states() == {"a": ["KILLED"]}
    assert history(h.ex) == ["CREATED", "RUNNING", "KILLING", "KILLED"]
    assert effects.kill_children and effects.ended
    h.run()
    assert h.claimed == []  # the dispatched run was fenced
    assert h.ex.state == S.KILLED
    assert illegal_moves(h) == []


def test_kill_marks_running_attempts_and_their_parents_killed() -> None:
    h = Harness(flow("""
        tasks:
          - id: group
            type: Parallel
            tasks:
              - id: slow
                type: Return
                format: slow
              - id: waiting
                type: Return
                format: waiting
    """)).start()
    run = h.one("slow")
    h.queue.clear()  # the worker claims `slow` and is still running it
    h.now += timedelta(seconds=1)
    run.state = S.RUNNING
    run.history.append({"state": "RUNNING", "date": h.now.isoformat()})
    run.attempts.append({"state": "RUNNING", "startDate": h.now.isoformat()})
    h.kill()
    assert h.states() == {"group": ["KILLED"], "slow": ["KILLED"], "waiting": ["KILLED"]}
    assert run.attempts[-1]["state"] == "KILLED"
    assert date_problems(h) == []
    assert h.ex.state == S.KILLED
    assert h.kill_children


def test_kill_a_paused_execution() -> None:
    h = Harness(flow(PAUSE_FLOW.format(props="delay: PT1H"))).start()
    assert h.ex.state == S.PAUSED
    h.kill()
    assert h.states() == {"pause": ["KILLED"]}
    assert h.status() == S.KILLED
    assert "KILLING" in history(h.ex)
    h.run()
    assert h.states() == {"pause": ["KILLED"]}  # the delay is a no-op on a killed run


def test_kill_an_execution_that_never_started() -> None:
    h = Harness(flow("""
        tasks:
          - id: a
            type: Return
            format: a
    """))
    effects = h.kill()
    assert h.ex.state == S.KILLED
    assert h.runs() == []
    assert effects.ended


def test_kill_a_terminated_execution_changes_nothing() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Return
            format: a
    """)
    effects = h.kill()
    assert h.ex.state == S.SUCCESS
    assert not effects.kill_children and not effects.ended


def test_kill_while_retrying() -> None:
    h = Harness(flow("""
        tasks:
          - id: flaky
            type: Fail
            retry:
              type: constant
              interval: PT1M
              maxAttempt: 3
    """)).start().run(delays=False)
    assert h.state("flaky") == S.RETRYING
    h.kill()
    assert h.state("flaky") == S.KILLED
    assert h.ex.state == S.KILLED
    h.wake(h.delays("retry")[0])  # an expired retry does not restart a killed task run
    assert h.state("flaky") == S.KILLED and h.status() == S.KILLED
    assert h.queue == [] and h.one("flaky").attempt_count == 1


# -- flow outputs --------------------------------------------------------------------------------


OUTPUTS = [
    ("STRING", "{{ outputs.r.value }}", "hello"),
    ("STRING", "{{ outputs.r }}", '{"value":"hello"}'),
    ("INT", "{{ 40 + 2 }}", 42),
    ("FLOAT", "1.5", 1.5),
    ("BOOLEAN", "{{ outputs.r.value == 'hello' }}", True),
    ("JSON", '{"a": [1, 2]}', {"a": [1, 2]}),
    ("ARRAY", "{{ [outputs.r.value, 'b'] }}", ["hello", "b"]),
]


@pytest.mark.parametrize(("kind", "value", "expected"), OUTPUTS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(OUTPUTS)])
def test_flow_outputs_are_rendered_and_typed(kind: str, value: str, expected: object) -> None:
    h = execute(f"""
        tasks:
          - id: r
            type: Return
            format: hello
        outputs:
          - id: out
            type: {kind}
            value: {json.dumps(value)}
    """)
    assert h.ex.state == S.SUCCESS
    assert h.ex.outputs == {"out": expected}


def test_flow_output_render_failure_fails_the_execution() -> None:
    h = execute("""
        tasks:
          - id: r
            type: Return
            format: hello
        outputs:
          - id: ok
            type: STRING
            value: fine
          - id: broken
            type: STRING
            value: "{{ outputs.missing.value }}"
    """)
    assert h.state("r") == S.SUCCESS
    assert h.ex.state == S.FAILED
    assert any("broken" in m for m in h.log_messages("ERROR"))


def test_flow_output_type_mismatch_fails_the_execution() -> None:
    h = execute("""
        tasks:
          - id: r
            type: Return
            format: hello
        outputs:
          - id: n
            type: INT
            value: "{{ outputs.r.value }}"
    """)
    assert h.ex.state == S.FAILED


def test_flow_without_outputs_has_empty_outputs() -> None:
    h = execute("""
        tasks:
          - id: r
            type: Return
            format: hello
    """)
    assert h.ex.outputs == {}


# -- flow timeout (a Weir extension) ---------------------------------------------------------------


def test_flow_timeout_schedules_a_delay_and_fails_a_running_execution() -> None:
    """Past `timeout`, unfinished task runs are killed and the execution ends FAILED."""
    h = Harness(flow("""
        timeout: PT10M
        tasks:
          - id: slow
            type: Return
            format: slow
    """)).start()
    (delay,) = h.delays("flow_timeout")
    assert delay.due == START + timedelta(minutes=10)
    h.queue.clear()  # the worker never answers
    h.wake(delay)
    assert h.ex.state == S.FAILED
    assert h.state("slow") == S.KILLED
    assert h.kill_children
    assert any("timeout" in m.lower() for m in h.log_messages("ERROR"))


def test_flow_timeout_after_the_end_is_a_no_op() -> None:
    h = Harness(flow("""
        timeout: PT10M
        tasks:
          - id: quick
            type: Return
            format: quick
    """)).go()
    assert h.ex.state == S.SUCCESS
    h.wake(h.delays("flow_timeout")[0])
    assert h.ex.state == S.SUCCESS
    assert h.state("quick") == S.SUCCESS


# -- labels --------------------------------------------------------------------------------------


def test_labels_are_in_the_context_and_the_labels_task_updates_them() -> None:
    h = execute("""
        labels:
          team: data
        tasks:
          - id: before
            type: Return
            format: "{{ labels.team }} {{ labels.system.correlationId == execution.id }}"
          - id: set
            type: Labels
            labels:
              team: "{{ labels.team }}-ops"
              run: "{{ taskrun.id }}"
          - id: after
            type: Return
            format: "{{ labels.team }}"
    """)
    assert h.one("before").outputs == {"value": "data true"}
    assert h.one("after").outputs == {"value": "data-ops"}
    labels = {lb["key"]: lb["value"] for lb in h.ex.labels}
    assert labels["team"] == "data-ops" and labels["run"] == h.one("set").id
    assert [lb["key"] for lb in h.ex.labels].count("team") == 1


# -- subflows ------------------------------------------------------------------------------------


SUBFLOW = """
    inputs:
      - id: who
        type: STRING
        defaults: world
    labels:
      parent: "yes"
    tasks:
      - id: child
        type: Subflow
        namespace: "{{{{ flow.namespace }}}}.sub"
        flowId: "child-{{{{ inputs.who }}}}"
        inputs:
          greeting: "hello {{{{ inputs.who }}}}"
          count: "{{{{ 1 + 1 }}}}"
        labels:
          origin: "{{{{ flow.id }}}}"
        {extra}
      - id: after
        type: Return
        format: "{{{{ outputs.child.executionId }}}}"
"""


def test_subflow_asks_the_runner_for_a_child_execution() -> None:
    h = Harness(flow(SUBFLOW.format(extra="inheritLabels: true"))).start()
    (request,) = h.subflow_requests
    run = h.one("child")
    assert request.task_run_id == run.id
    assert (request.namespace, request.flow_id, request.revision) == ("weir.tests.sub", "child-world", None)
    assert request.inputs == {"greeting": "hello world", "count": 2}
    assert request.labels == [{"key": "origin", "value": "test"}]
    assert request.wait is True and request.inherit_labels is True and request.schedule_date is None
    assert run.state == S.RUNNING and run.attempt_count == 1
    assert h.queue == []  # a Subflow is not sent to a worker
    assert h.ex.state == S.RUNNING


@pytest.mark.parametrize("child", [S.SUCCESS, S.FAILED], ids=["success", "failed"])
def test_subflow_task_run_ends_with_the_child(child: State) -> None:
    h = Harness(flow(SUBFLOW.format(extra="")), subflows={"child": (child, {"out": 1})}).go()
    assert h.state("child") == child
    assert h.one("child").outputs == {"executionId": f"child-{h.one('child').id}", "state": child.value,
                                      "outputs": {"out": 1}}
    if child == S.SUCCESS:
        assert h.one("after").outputs == {"value": f"child-{h.one('child').id}"}
    assert h.ex.state == child


def test_subflow_without_wait_succeeds_at_once() -> None:
    h = Harness(flow(SUBFLOW.format(extra="wait: false"))).go()
    assert h.subflow_requests[0].wait is False
    assert h.states() == {"child": ["SUCCESS"], "after": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_subflow_failure_with_allow_failure_continues_in_warning() -> None:
    """valids/task-allow-failure-executable-flow.yml: WARNING, and the next task runs."""
    h = Harness(flow(SUBFLOW.format(extra="allowFailure: true")), subflows={"child": S.FAILED}).go()
    assert h.states() == {"child": ["WARNING"], "after": ["SUCCESS"]}
    assert h.ex.state == S.WARNING


def test_subflow_with_an_input_that_fails_to_render_fails_the_task_run() -> None:
    h = execute("""
        tasks:
          - id: child
            type: Subflow
            namespace: weir.tests
            flowId: child
            inputs:
              bad: "{{ outputs.nothing.value }}"
    """)
    assert h.subflow_requests == []
    assert h.state("child") == S.FAILED
    assert h.ex.state == S.FAILED


# -- wake-ups that no longer apply ----------------------------------------------------------------


def test_wake_for_a_deleted_task_run_is_ignored() -> None:
    h = execute("""
        tasks:
          - id: a
            type: Return
            format: a
    """)
    effects = planner.wake(h.flow, h.ex, Delay("retry", h.now, "no-such-run"), h.env())
    assert not effects.delays and not effects.ended
    assert h.ex.state == S.SUCCESS
