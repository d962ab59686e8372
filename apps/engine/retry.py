"""Retries (KESTRA.md §2.2): which policy applies, whether another attempt is allowed, and when.

Policy lookup: the task's own `retry`, else the nearest flowable ancestor's, else the flow's.
`RETRY_FAILED_TASK` keeps the task run and adds an attempt after the delay;
`CREATE_NEW_EXECUTION` marks the run, its ancestors and the execution RETRIED and asks the
runner for a replay with `attemptNumber + 1`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from apps.engine import protocol
from apps.engine.context import ancestors
from apps.engine.model import Delay, TaskRunData
from apps.engine.protocol import PlannerPort
from apps.engine.states import State
from apps.plugins.sdk import parse_duration


def policy_for(planner: PlannerPort, run: TaskRunData) -> Mapping[str, Any] | None:
    node = planner.flow.node(run.task_id)
    if node.raw.get("retry"):
        return dict(node.raw["retry"])
    for ancestor in node.ancestors():
        if ancestor.raw.get("retry"):
            return dict(ancestor.raw["retry"])
    flow_retry = planner.flow.raw.get("retry")
    return dict(flow_retry) if flow_retry else None


def _first_start(run: TaskRunData) -> datetime | None:
    for attempt in run.attempts:
        start = attempt.get("startDate")
        if start:
            return datetime.fromisoformat(start)
    return None


def next_delay(policy: Mapping[str, Any], attempts: int) -> float:
    """Seconds before the next attempt; `attempts` is how many have run so far."""
    kind = policy.get("type")
    if kind == "constant":
        return parse_duration(str(policy["interval"]))
    if kind == "exponential":
        interval = parse_duration(str(policy["interval"]))
        factor = int(float(policy.get("delayFactor") or 2))
        cap = parse_duration(str(policy["maxInterval"]))
        return float(min(interval * factor * (attempts - 1), cap))
    if kind == "random":
        low = parse_duration(str(policy["minInterval"]))
        high = parse_duration(str(policy["maxInterval"]))
        return random.uniform(low, high)
    return 0.0


def allows_retry(policy: Mapping[str, Any], attempts: int, first_start: datetime | None, now: datetime) -> bool:
    max_attempt = policy.get("maxAttempt")
    if max_attempt is not None and attempts >= int(max_attempt):
        return False
    max_duration = policy.get("maxDuration")
    if max_duration and first_start is not None:
        limit = first_start + timedelta(seconds=parse_duration(str(max_duration)))
        if now + timedelta(seconds=next_delay(policy, attempts)) > limit:
            return False
    return max_attempt is not None or bool(max_duration)


@protocol.attempt_ended.register
def on_attempt_end(planner: PlannerPort, run: TaskRunData, state: State, outputs: dict[str, Any] | None) -> None:
    """Record the end of the current attempt and decide: retry, RETRIED, or a terminal state."""
    now = planner.env.now
    if run.attempts:
        run.attempts[-1]["state"] = state.value
        run.attempts[-1]["endDate"] = now.isoformat()
    if outputs is not None:
        run.outputs = outputs
    run.dirty = True
    policy = policy_for(planner, run) if state == State.FAILED else None
    if policy is not None:
        behavior = policy.get("behavior", "RETRY_FAILED_TASK")
        if behavior == "RETRY_FAILED_TASK" and allows_retry(policy, run.attempt_count, _first_start(run), now):
            planner.set_run(run, State.FAILED)
            planner.set_run(run, State.RETRYING)
            if planner.ex.state == State.RUNNING:
                planner.set_ex(State.RETRYING)
            delay = next_delay(policy, run.attempt_count)
            planner.effects.delays.append(Delay("retry", now + timedelta(seconds=delay), run.id))
            return
        if behavior == "CREATE_NEW_EXECUTION":
            ex = planner.ex
            attempt_number = int(ex.meta.get("attemptNumber", 1))
            created = ex.meta.get("originalCreatedDate")
            first = datetime.fromisoformat(created) if created else None
            if allows_retry(policy, attempt_number, first, now):
                planner.set_run(run, State.FAILED)
                planner.set_run(run, State.RETRIED)
                for parent in ancestors(ex, run):
                    planner.set_run(parent, State.RETRIED)
                planner.set_ex(State.RETRIED)
                planner.effects.ended = True
                planner.effects.new_execution = {
                    "delay": next_delay(policy, attempt_number), "attemptNumber": attempt_number + 1,
                }
                return
    if state == State.SUCCESS and run.attempt_count > 1:
        own = policy_for(planner, run)
        if own and own.get("warningOnRetry"):
            state = State.WARNING
    planner.finish_run(run, state)
