"""Retries (KESTRA.md §2.2): which policy applies, how many attempts, when, and the end state.

The fake clock makes the delays exact: a retry delay is due `interval` after the attempt ended,
and `maxDuration` is measured from the first attempt's start. Each simulated attempt takes
`engine_harness.WORKER_SECONDS` on that clock, as real attempts take some time.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from apps.engine import retry
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


def retry_gaps(h: Harness, task_id: str) -> list[float]:
    """Seconds between the end of each attempt and the start of the next one."""
    attempts = h.one(task_id).attempts
    return [round((datetime.fromisoformat(b["startDate"]) - datetime.fromisoformat(a["endDate"])).total_seconds(), 3)
            for a, b in itertools.pairwise(attempts)]


# -- the policy arithmetic -------------------------------------------------------------------------


def test_constant_delay() -> None:
    assert retry.next_delay({"type": "constant", "interval": "PT30S"}, 1) == 30
    assert retry.next_delay({"type": "constant", "interval": "PT30S"}, 5) == 30


def test_exponential_delay_follows_kestras_executor_formula() -> None:
    """interval * floor(delayFactor) * (attempts - 1), capped at maxInterval: the first retry is immediate."""
    policy = {"type": "exponential", "interval": "PT1S", "maxInterval": "PT5S"}
    assert [retry.next_delay(policy, n) for n in (1, 2, 3, 4)] == [0, 2, 4, 5]
    factor3 = {**policy, "delayFactor": 3.7}
    assert [retry.next_delay(factor3, n) for n in (1, 2, 3)] == [0, 3, 5]


def test_random_delay_stays_in_range() -> None:
    policy = {"type": "random", "minInterval": "PT1S", "maxInterval": "PT2S"}
    delays = [retry.next_delay(policy, 1) for _ in range(200)]
    assert all(1 <= d <= 2 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(("attempts", "allowed"), [(1, True), (2, True), (3, False), (4, False)],
                         ids=["1", "2", "3", "4"])
def test_max_attempt_counts_total_attempts(attempts: int, allowed: bool) -> None:
    policy = {"type": "constant", "interval": "PT1S", "maxAttempt": 3}
    assert retry.allows_retry(policy, attempts, START, START) is allowed


def test_max_duration_refuses_a_retry_due_after_the_deadline() -> None:
    policy = {"type": "constant", "interval": "PT2S", "maxDuration": "PT6S"}
    assert retry.allows_retry(policy, 1, START, START + timedelta(seconds=3.9))
    assert not retry.allows_retry(policy, 1, START, START + timedelta(seconds=4.1))


# -- task-level retries ----------------------------------------------------------------------------


CONSTANT = """
    tasks:
      - id: flaky
        type: Fail
        retry:
          type: constant
          interval: PT30S
          maxAttempt: {max_attempt}
          {extra}
      - id: next
        type: Return
        format: next
    errors:
      - id: handler
        type: Log
        message: handled
"""


def test_constant_retry_uses_every_attempt_then_fails_once() -> None:
    """valids/retry-fail.yaml: 3 attempts in ONE task run, then the errors branch once."""
    h = execute(CONSTANT.format(max_attempt=3, extra=""))
    run = h.one("flaky")
    assert run.attempt_count == 3
    assert [a["state"] for a in run.attempts] == ["FAILED", "FAILED", "FAILED"]
    assert retry_gaps(h, "flaky") == [30, 30]
    assert h.states() == {"flaky": ["FAILED"], "handler": ["SUCCESS"]}
    assert h.ex.state == S.FAILED
    assert illegal_moves(h) == []


def test_a_retry_goes_failed_then_retrying_then_runs_again() -> None:
    h = Harness(flow(CONSTANT.format(max_attempt=2, extra=""))).start().run(delays=False)
    run = h.one("flaky")
    assert run.state == S.RETRYING
    assert history(run)[-3:] == ["RUNNING", "FAILED", "RETRYING"]
    (delay,) = h.delays("retry")
    assert delay.task_run_id == run.id
    assert delay.due == datetime.fromisoformat(run.attempts[0]["endDate"]) + timedelta(seconds=30)
    assert "handler" not in h.states()  # a retryable failure does not open the errors branch
    h.wake(delay)
    assert h.state("flaky") == S.CREATED and len(h.queue) == 1
    h.run()
    assert run.attempt_count == 2
    assert history(run).count("RUNNING") == 2


def test_a_task_run_waiting_for_its_retry_has_no_end_date() -> None:
    """Kestra's `State.endDate` exists only for terminated states; RETRYING is not terminated."""
    h = Harness(flow(CONSTANT.format(max_attempt=2, extra=""))).start().run(delays=False)
    run = h.one("flaky")
    assert run.state == S.RETRYING
    assert date_problems(h) == []
    h.wake(h.delays("retry")[0])
    assert date_problems(h) == []
    h.run()
    assert run.end_date == h.one("flaky").attempts[-1]["endDate"]


def test_execution_is_retrying_while_a_task_run_waits_for_its_retry() -> None:
    """KESTRA.md §2.2/§5.2: under RETRY_FAILED_TASK the execution goes RETRYING, then RUNNING."""
    h = Harness(flow(CONSTANT.format(max_attempt=2, extra=""))).start().run(delays=False)
    assert h.ex.state == S.RETRYING
    h.wake(h.delays("retry")[0])
    assert h.status() == S.RUNNING
    h.run()
    assert history(h.ex)[:4] == ["CREATED", "RUNNING", "RETRYING", "RUNNING"]


def test_retry_then_success() -> None:
    h = execute(CONSTANT.format(max_attempt=5, extra=""), script={"flaky": [S.FAILED, S.FAILED, S.SUCCESS]})
    assert h.one("flaky").attempt_count == 3
    assert [a["state"] for a in h.one("flaky").attempts] == ["FAILED", "FAILED", "SUCCESS"]
    assert h.states() == {"flaky": ["SUCCESS"], "next": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


@pytest.mark.parametrize(("outcomes", "expected"), [([S.FAILED, S.SUCCESS], S.WARNING), ([S.SUCCESS], S.SUCCESS)],
                         ids=["after-retry", "first-attempt"])
def test_warning_on_retry(outcomes: list[State], expected: State) -> None:
    """valids/retry-success*.yaml: WARNING only if a retry happened."""
    h = execute(CONSTANT.format(max_attempt=3, extra="warningOnRetry: true"), script={"flaky": list(outcomes)})
    assert h.state("flaky") == expected
    assert h.ex.state == expected


def test_exponential_retry_delays() -> None:
    h = execute("""
        tasks:
          - id: flaky
            type: Fail
            retry:
              type: exponential
              interval: PT10S
              maxInterval: PT25S
              maxAttempt: 5
    """)
    assert h.one("flaky").attempt_count == 5
    assert retry_gaps(h, "flaky") == [0, 20, 25, 25]


def test_random_retry_delays_stay_in_range() -> None:
    h = execute("""
        tasks:
          - id: flaky
            type: Fail
            retry:
              type: random
              minInterval: PT1S
              maxInterval: PT3S
              maxAttempt: 4
    """)
    assert h.one("flaky").attempt_count == 4
    assert all(1 <= gap <= 3 for gap in retry_gaps(h, "flaky"))


def test_max_duration_limits_the_attempts() -> None:
    """valids/retry-failed-task-duration.yml: interval PT2S, maxDuration PT6S → 3 attempts."""
    h = execute("""
        tasks:
          - id: fail
            type: Fail
            retry:
              behavior: RETRY_FAILED_TASK
              type: constant
              maxDuration: PT6S
              interval: PT2S
    """)
    assert h.one("fail").attempt_count == 3
    assert h.ex.state == S.FAILED


def test_retry_then_allow_failure() -> None:
    """valids/task-allow-failure-runnable.yml: retries are used up first, then WARNING."""
    h = execute("""
        tasks:
          - id: fail
            type: Fail
            allowFailure: true
            retry:
              type: constant
              interval: PT1S
              maxAttempt: 3
          - id: next
            type: Return
            format: next
    """)
    assert h.one("fail").attempt_count == 3
    assert h.states() == {"fail": ["WARNING"], "next": ["SUCCESS"]}
    assert h.ex.state == S.WARNING


def test_attempts_count_is_zero_based_in_expressions() -> None:
    """valids/retry-success.yaml: the 4th attempt sees `taskrun.attemptsCount == 3`."""
    h = execute("""
        tasks:
          - id: failed
            type: Log
            message: "{{ taskrun.attemptsCount == 3 ? 'ok' : ko }}"
            retry:
              type: constant
              interval: PT0.250S
              maxAttempt: 4
              warningOnRetry: true
    """)
    assert h.one("failed").attempt_count == 4
    assert h.ex.state == S.WARNING


def test_no_policy_means_no_retry() -> None:
    h = execute("""
        tasks:
          - id: fail
            type: Fail
    """)
    assert h.one("fail").attempt_count == 1
    assert h.pending == []


# -- which policy applies -------------------------------------------------------------------------


def test_flow_level_retry_applies_to_tasks_without_their_own() -> None:
    h = execute("""
        retry:
          type: constant
          interval: PT1S
          maxAttempt: 4
        tasks:
          - id: plain
            type: Fail
            allowFailure: true
          - id: own
            type: Fail
            retry:
              type: constant
              interval: PT1S
              maxAttempt: 2
    """)
    assert h.one("plain").attempt_count == 4
    assert h.one("own").attempt_count == 2


def test_flowable_parent_retry_applies_to_its_failing_child() -> None:
    """valids/retry-flowable.yaml: the retry on the Sequential gives the child 3 attempts."""
    h = execute("""
        retry:
          type: constant
          interval: PT1S
          maxAttempt: 5
        tasks:
          - id: seq
            type: Sequential
            retry:
              type: constant
              interval: PT1S
              maxAttempt: 3
            tasks:
              - id: inner
                type: Sequential
                tasks:
                  - id: child
                    type: Fail
    """)
    assert h.one("child").attempt_count == 3
    assert len(h.runs("seq")) == 1 and len(h.runs("child")) == 1
    assert h.ex.state == S.FAILED


def test_flowable_retry_on_parallel_children_retries_each() -> None:
    """valids/retry-flowable-parallel.yaml: each child gets at least 2 attempts (the loop fails as
    soon as one child failed for good, whatever the other is doing)."""
    h = execute("""
        tasks:
          - id: flowable
            type: ForEach
            concurrencyLimit: 0
            values: [0, 1]
            retry:
              type: constant
              interval: PT1S
              maxAttempt: 3
            tasks:
              - id: child
                type: Fail
    """)
    assert [r.attempt_count >= 2 for r in h.runs("child")] == [True, True]
    assert h.one("child", "0").attempt_count == 3
    assert h.ex.state == S.FAILED


def test_subflow_task_is_retried_with_a_new_request_per_attempt() -> None:
    """valids/retry-subflow.yaml: flow-level retry on a Subflow whose child always fails."""
    h = Harness(flow("""
        retry:
          type: constant
          interval: PT1S
          maxAttempt: 3
        tasks:
          - id: sub
            type: Subflow
            namespace: weir.tests
            flowId: failed-first
    """), subflows={"sub": S.FAILED}).go()
    assert h.one("sub").attempt_count == 3
    assert len(h.subflow_requests) == 3
    assert h.ex.state == S.FAILED


# -- CREATE_NEW_EXECUTION ------------------------------------------------------------------------


NEW_EXECUTION = """
    retry:
      behavior: CREATE_NEW_EXECUTION
      type: constant
      interval: PT2S
      maxAttempt: 3
    tasks:
      - id: group
        type: Sequential
        tasks:
          - id: fail
            type: Fail
"""


def test_create_new_execution_marks_runs_and_execution_retried() -> None:
    h = execute(NEW_EXECUTION)
    assert h.states() == {"group": ["RETRIED"], "fail": ["RETRIED"]}
    assert h.ex.state == S.RETRIED
    assert h.new_execution == {"delay": 2.0, "attemptNumber": 2}
    assert h.ended == 1
    assert h.one("fail").attempt_count == 1
    assert illegal_moves(h) == []
    assert date_problems(h) == []


def test_create_new_execution_stops_at_max_attempt() -> None:
    """valids/retry-new-execution-*: RETRIED, RETRIED, then the last execution ends FAILED."""
    h = execute(NEW_EXECUTION, meta={"attemptNumber": 3})
    assert h.ex.state == S.FAILED
    assert h.new_execution is None
    assert h.states() == {"group": ["FAILED"], "fail": ["FAILED"]}


def test_create_new_execution_respects_max_duration_from_the_original_creation() -> None:
    earlier = (START - timedelta(seconds=5)).isoformat()
    h = execute("""
        retry:
          behavior: CREATE_NEW_EXECUTION
          type: constant
          interval: PT2S
          maxDuration: PT6S
        tasks:
          - id: fail
            type: Fail
    """, meta={"attemptNumber": 3, "originalCreatedDate": earlier})
    assert h.ex.state == S.FAILED
    assert h.new_execution is None


def test_task_level_create_new_execution() -> None:
    h = execute("""
        tasks:
          - id: fail
            type: Fail
            retry:
              behavior: CREATE_NEW_EXECUTION
              type: constant
              interval: PT1S
              maxAttempt: 2
    """)
    assert h.ex.state == S.RETRIED
    assert h.new_execution == {"delay": 1.0, "attemptNumber": 2}

