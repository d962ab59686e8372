"""Queue control (KESTRA.md §5.7): force-run and unqueue.

`force_run` starts an execution now, whatever holds it back: a CREATED one waiting for its
`scheduleDate`, a QUEUED one over its flow's concurrency limit, or a PAUSED one (resumed).
`unqueue` takes an execution out of the queue, either running it (the default) or ending it
CANCELLED or FAILED. Both go through `runner.process`, so the engine's rules apply.
"""

from __future__ import annotations

from apps.core.errors import Conflict, Unprocessable
from apps.engine import planner
from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData
from apps.engine.states import State, transition
from apps.executions import services
from apps.executions.models import Delay, Execution
from apps.executions.runtime import runner

UNQUEUE_TARGETS = (State.RUNNING, State.CANCELLED, State.FAILED)


def _start_now(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
    if data.state not in (State.CREATED, State.QUEUED):
        return Effects()  # something else started it meanwhile
    return planner.start(flow, data, env)


def force_run(execution_id: str) -> Execution:
    row = services.get(execution_id)
    state = State(row.state)
    if state == State.PAUSED:
        return services.resume(execution_id)
    if state not in (State.CREATED, State.QUEUED):
        raise Conflict(f"Execution '{execution_id}' is {row.state}: only a CREATED, QUEUED or PAUSED execution "
                       "can be forced to run")
    Delay.objects.filter(execution_id=execution_id, kind="start").delete()
    runner.process(execution_id, _start_now)
    return services.get(execution_id)


def unqueue(execution_id: str, target: str = "RUNNING") -> Execution:
    try:
        to = State(target.upper())
    except ValueError as error:
        raise Unprocessable(f"'{target}' is not a state") from error
    if to not in UNQUEUE_TARGETS:
        raise Unprocessable(f"an execution can be unqueued to {', '.join(s.value for s in UNQUEUE_TARGETS)}, "
                            f"not {to.value}")
    row = services.get(execution_id)
    if row.state != State.QUEUED.value:
        raise Conflict(f"Execution '{execution_id}' is {row.state}: only a QUEUED execution can be unqueued")
    if to == State.RUNNING:
        runner.process(execution_id, _start_now)
        return services.get(execution_id)

    def end(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        if data.state != State.QUEUED:
            return Effects()
        transition(data, to, env.now)
        data.end_date = env.now.isoformat()
        return Effects(logs=[(None, "WARN", f"Execution unqueued as {to.value}")], ended=True)

    runner.process(execution_id, end)
    return services.get(execution_id)
