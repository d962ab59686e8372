"""What happens around the engine's decisions: starting executions (schedule dates, flow
concurrency), creating subflow executions, and the side effects of an execution's end
(notify the parent, free a concurrency slot, cascade kills, flow-level retries).

Lock order is always Flow row → Execution row, and a transaction never locks two executions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.engine import planner
from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData, HostStep, SubflowRequest, TaskRunData
from apps.engine.states import TERMINATED, State, transition
from apps.executions import telemetry
from apps.executions.models import BUSY_STATES, Delay, Execution
from apps.executions.runtime import ports, runner, subflow_chain
from apps.executions.runtime.runcontext import RenderServices
from apps.flows import authors
from apps.flows.models import Flow
from apps.namespaces import reach

log = logging.getLogger(__name__)

def render_services(row: Execution) -> RenderServices:
    return RenderServices(row.namespace, row.id)


# ---------------------------------------------------------------------------------------------
# Starting


def start(execution_id: str) -> None:
    """Start a CREATED execution: wait for its schedule date, honour flow `concurrency`, plan."""
    try:
        row = Execution.objects.only("namespace", "flow_id", "flow_revision", "state", "schedule_date").get(
            id=execution_id)
    except Execution.DoesNotExist:
        return
    if row.state != "CREATED":
        return
    if row.schedule_date and row.schedule_date > timezone.now():
        Delay.objects.get_or_create(execution_id=execution_id, kind="start", defaults={"due": row.schedule_date})
        return
    flow = runner.compiled(row.namespace, row.flow_id, row.flow_revision)
    concurrency = flow.raw.get("concurrency") or None
    with transaction.atomic():
        busy = _lock_flow(row.namespace, row.flow_id).busy if concurrency else 0
        runner.process(execution_id, lambda f, d, e: _start_event(f, d, e, concurrency, busy))


def start_new(row: Execution, *, last: bool = False) -> bool:
    """Start an execution in the transaction that creates it, unless its schedule date is ahead.
    With a flow `concurrency` limit the Flow row is locked first (as `start` does), so the
    execution is inserted RUNNING, or QUEUED (or refused) when the limit is reached, in one
    transaction instead of a second one after commit. `row` is unsaved; it is inserted, or left
    unsaved (False) for the caller to insert CREATED and `start` after commit. `last`: the
    caller writes nothing more in its transaction (`runner.process_new`)."""
    if row.schedule_date is not None and row.schedule_date > timezone.now():
        return False
    concurrency = runner.compiled(row.namespace, row.flow_id, row.flow_revision).raw.get("concurrency") or None
    busy = _lock_flow(row.namespace, row.flow_id).busy if concurrency else 0
    runner.process_new(row, lambda f, d, e: _start_event(f, d, e, concurrency, busy), last=last)
    return True


def _start_event(flow: CompiledFlow, data: ExecutionData, env: Env, concurrency: dict[str, Any] | None,
                 busy: int) -> Effects:
    """Start the execution, or queue (or refuse) it when `busy` (its flow's executions holding a
    concurrency slot, counted under the Flow row's lock; this one, CREATED or QUEUED, holds none)
    reaches the flow's limit."""
    if data.state not in (State.CREATED, State.QUEUED):
        return Effects()
    if concurrency and busy >= int(concurrency.get("limit", 1)):
        behavior = concurrency.get("behavior", "QUEUE")
        effects = Effects()
        if behavior == "QUEUE":
            if data.state != State.QUEUED:
                transition(data, State.QUEUED, env.now)
                effects.logs.append((None, "INFO", "Flow is queued: its concurrency limit is reached"))
            return effects
        target = State.CANCELLED if behavior == "CANCEL" else State.FAILED
        transition(data, target, env.now)
        data.end_date = env.now.isoformat()
        effects.logs.append((None, "WARN" if target == State.CANCELLED else "ERROR",
                             f"Flow concurrency limit ({concurrency.get('limit')}) reached: execution {target}"))
        effects.ended = True
        return effects
    return planner.start(flow, data, env)


def release_queue(namespace: str, flow_id: str, revision: int, offer: runner.Inline | None = None) -> None:
    """A slot may have freed: start the oldest QUEUED execution of the flow, if any. With `offer`
    (a worker's, still unused), that worker claims the started execution's first task inline."""
    flow = runner.compiled(namespace, flow_id, revision)
    concurrency = flow.raw.get("concurrency")
    if not concurrency:
        return
    if offer is not None and (offer.claimed is not None or offer.handed is not None):
        offer = None
    try:
        with transaction.atomic():
            slots = _lock_flow(namespace, flow_id, first_queued=True)
            if slots.first_queued is not None:
                runner.process(slots.first_queued,
                               lambda f, d, e: _start_event(f, d, e, concurrency, slots.busy), inline=offer)
    except BaseException:
        if offer is not None:  # what the rolled-back start claimed is not the worker's
            offer.claimed = offer.handed = offer.data = None
        raise


@dataclass
class FlowSlots:
    busy: int
    """The flow's executions holding a concurrency slot (BUSY_STATES)."""
    first_queued: str | None = None
    """Its oldest QUEUED execution, when asked for."""


_BUSY = (f"SELECT count(*) FROM weir_execution WHERE namespace = %s AND flow_id = %s "
         f"AND state IN ({', '.join(['%s'] * len(BUSY_STATES))})")
_FIRST_QUEUED = ("SELECT id FROM weir_execution WHERE namespace = %s AND flow_id = %s AND state = 'QUEUED' "
                 "ORDER BY created LIMIT 1")


def _lock_flow(namespace: str, flow_id: str, *, first_queued: bool = False) -> FlowSlots:
    """Lock the Flow row and count the flow's busy executions (and find its oldest QUEUED one):
    every start and release of a flow with a `concurrency` limit holds the lock while it counts,
    so two cannot both take the last slot. On PostgreSQL the lock and the reads go in one round
    trip (a pipeline: each read is a statement of its own, so it sees what the lock's previous
    holder committed); both reads use the flow's active executions' index (models.py). SQLite
    has no row locks (its transactions hold the database's write lock already)."""
    statements = [(_BUSY, [namespace, flow_id, *BUSY_STATES])]
    if first_queued:
        statements.append((_FIRST_QUEUED, [namespace, flow_id]))
    if not connection.features.has_select_for_update:
        answers = []
        for sql, params in statements:
            with connection.cursor() as plain:
                plain.execute(sql, params)
                answers.append(plain.fetchone())
    else:
        import psycopg

        connection.ensure_connection()
        conn = connection.connection
        cursors = [psycopg.Cursor(conn) for _ in range(len(statements) + 1)]
        try:
            with conn.pipeline():
                cursors[0].execute(f"SELECT 1 FROM {Flow._meta.db_table} WHERE namespace = %s AND flow_id = %s "
                                   "FOR UPDATE", [namespace, flow_id], prepare=True)
                for cursor, (sql, params) in zip(cursors[1:], statements, strict=True):
                    cursor.execute(sql, params, prepare=True)
            answers = [cursor.fetchone() for cursor in cursors[1:]]
        finally:
            for cursor in cursors:
                cursor.close()
    queued = answers[1] if first_queued else None
    return FlowSlots(int(answers[0][0]), str(queued[0]) if queued else None)


# ---------------------------------------------------------------------------------------------
# Subflows


def start_subflows(row: Execution, flow: CompiledFlow, data: ExecutionData, effects: Effects,
                   env: Env) -> Effects | None:
    """Create the child executions the engine asked for, and do its ForEachItem file steps
    (inside the parent's transaction).

    Returns the effects of re-advancing the parent (a child could not be created and its task
    run fails, a step ended, a ForEachItem batch started without waiting), or None when there
    is nothing left.
    """
    if not effects.subflows:
        return None
    requests, effects.subflows = effects.subflows, []
    more = Effects()
    for request in requests:
        run = data.run(request.task_run_id)
        step: Effects | None
        if isinstance(request, HostStep):
            step = _host_step(flow, data, run, request, env)
        else:
            step = _create_child(flow, data, run, request, env)
        if step is not None:
            more = runner.combine(more, step)
    return more


def _host_step(flow: CompiledFlow, data: ExecutionData, run: TaskRunData, request: HostStep,
               env: Env) -> Effects:
    from apps.executions.runtime import batches

    result = batches.do_step(request, data, run)
    step = planner.host_step_ended(flow, data, run, result.state, result.outputs, result.plan, env)
    if result.message:
        step.logs.insert(0, (run.id, "ERROR", result.message))
    return step


def _create_child(flow: CompiledFlow, data: ExecutionData, run: TaskRunData, request: SubflowRequest,
                  env: Env) -> Effects | None:
    labels = [lb for lb in data.labels if str(lb.get("key", "")).startswith("system.")]
    if request.inherit_labels:
        labels = list(data.labels)
    variables: dict[str, Any] = {"executionId": data.id, "namespace": data.namespace, "flowId": data.flow_id,
                                 "flowRevision": data.flow_revision}
    if request.iteration is not None:
        variables["taskRunIteration"] = request.iteration
    try:
        reach.require(data.namespace, request.namespace, reach.Access.ACT,
                      lambda: authors.authors(data.namespace, data.flow_id, data.flow_revision),
                      what=f"start flows in '{request.namespace}'")
        child = ports.create_execution.call(
            request.namespace, request.flow_id, inputs=request.inputs, inputs_mode="validated",
            labels=labels + request.labels, revision=request.revision,
            schedule_date=request.schedule_date,
            trigger={"id": run.task_id, "type": flow.node(run.task_id).type, "variables": variables},
            parent=(data.id, run.id, request.wait), callers=subflow_chain.callers_of(data),
        )
    except Exception as error:  # unknown flow, invalid inputs, disabled flow…
        message = getattr(error, "detail", None) or str(error)
        if request.iteration is not None:
            step = planner.iteration_ended(flow, data, run, request.iteration, State.FAILED, None, env)
        else:
            step = planner.attempt_ended(flow, data, run, State.FAILED, None, env)
        step.logs.insert(0, (run.id, "ERROR", f"Unable to start the subflow "
                                           f"{request.namespace}.{request.flow_id}: {message}"))
        return step
    if request.iteration is not None:
        if not request.wait:
            return planner.iteration_ended(flow, data, run, request.iteration, State.SUCCESS, None, env)
        return None
    run.outputs = {"executionId": child.id}
    run.dirty = True
    if not request.wait:
        return planner.attempt_ended(flow, data, run, State.SUCCESS, {"executionId": child.id}, env)
    return None


def subflow_ended(child_id: str) -> None:
    """A waited-for child ended: finish the parent's Subflow task run (after the child's commit)."""
    child_row, child = runner.snapshot(child_id)
    meta = child_row.meta or {}
    parent = meta.get("parent")
    if not parent or not parent.get("wait"):
        return
    parent_id, task_run_id = parent["executionId"], parent["taskRunId"]
    iteration = ((child_row.trigger or {}).get("variables") or {}).get("taskRunIteration")
    if iteration is not None:
        _iteration_ended(parent_id, task_run_id, int(iteration), child)
        return
    extracted, extract_error = _extract_outputs(child_row, child, parent_id, task_run_id)

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        try:
            run = data.run(task_run_id)
        except KeyError:
            return Effects()
        if run.state != State.RUNNING:
            return Effects()
        node = flow.node(run.task_id)
        outputs: dict[str, Any] = {"executionId": child.id, "state": child.state.value,
                                   "outputs": child.outputs or {}}
        if extracted:
            outputs["outputs"] = {**(child.outputs or {}), **extracted}
        state = State.SUCCESS
        transmit = node.raw.get("transmitFailed", True) is not False
        if transmit and child.state in (State.FAILED, State.KILLED, State.WARNING, State.CANCELLED):
            state = State.FAILED if child.state == State.CANCELLED else child.state
        logs = []
        if extract_error:
            state = State.FAILED
            logs.append((run.id, "ERROR", f"Failed to extract the subflow outputs: {extract_error}"))
        effects = planner.attempt_ended(flow, data, run, state, outputs, env)
        effects.logs[:0] = logs
        return effects

    runner.process(parent_id, event)


def _iteration_ended(parent_id: str, task_run_id: str, iteration: int, child: ExecutionData) -> None:
    """A ForEachItem batch's subflow ended: count it on the parent's `<id>_items` run."""

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        try:
            run = data.run(task_run_id)
        except KeyError:
            return Effects()
        return planner.iteration_ended(flow, data, run, iteration, child.state, child.outputs or None, env)

    runner.process(parent_id, event)


def _extract_outputs(child_row: Execution, child: ExecutionData, parent_id: str,
                     task_run_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The deprecated Subflow `outputs` property, rendered against the child execution."""
    from apps.engine import context as engine_context
    from apps.executions.models import TaskRun

    try:
        parent_row = Execution.objects.get(id=parent_id)
        task_id = TaskRun.objects.values_list("task_id", flat=True).get(id=task_run_id)
    except (Execution.DoesNotExist, TaskRun.DoesNotExist):
        return None, None
    parent_flow = runner.compiled(parent_row.namespace, parent_row.flow_id, parent_row.flow_revision)
    spec = parent_flow.node(task_id).raw.get("outputs")
    if not spec:
        return None, None
    child_flow = runner.compiled(child_row.namespace, child_row.flow_id, child_row.flow_revision)
    context = engine_context.build(child_flow, child, runner.env())
    from apps.engine.expressions import render

    # The expression is the parent flow's: it renders against the child's values, with the
    # parent's reach (kv(), read() answer as for the parent's namespace, docs/adr/0010).
    services = render_services(parent_row)
    try:
        return {str(k): render(str(v), context, services=services) if isinstance(v, str) else v
                for k, v in spec.items()}, None
    except Exception as error:
        return None, str(error)


# ---------------------------------------------------------------------------------------------
# The end of an execution


def after_commit(row: Execution, data: ExecutionData, effects: Effects,
                 flows_seen: tuple[Any, ...] | None = None) -> None:
    """Register the side effects of this transaction's decisions, run once it commits.
    `flows_seen`: the flows' change key read right after the COMMIT (`runrows.Writes.read`)."""
    if effects.kill_children:
        transaction.on_commit(lambda: kill_children(data.id))
    if effects.new_execution is not None:
        spec = dict(effects.new_execution)
        transaction.on_commit(lambda: flow_retry(data.id, spec))
    if effects.ended:
        what = Ended(data.id, data.namespace, data.flow_id, data.flow_revision, bool(data.meta.get("parent")),
                     flows_seen)
        final = (data.state.value, data.start_date, data.end_date)
        transaction.on_commit(lambda: telemetry.execution_ended(what.namespace, what.flow_id, final))
        offer = runner.current_offer()
        transaction.on_commit(lambda: ended(what, offer))


@dataclass(frozen=True)
class Ended:
    """What the end of an execution needs to know, taken from the decision that ended it."""

    execution_id: str
    namespace: str
    flow_id: str
    flow_revision: int
    has_parent: bool
    flows_seen: tuple[Any, ...] | None = None
    """`flows.services.FLOWS_CHANGED`'s answer right after the commit that ended it, if read."""


def ended(what: Ended, offer: runner.Inline | None = None) -> None:
    """After an execution's end: its parent, its flow's next queued execution (started with
    `offer`, the inline offer of the worker whose decision ended it), Flow triggers."""
    if what.has_parent:
        subflow_ended(what.execution_id)
    release_queue(what.namespace, what.flow_id, what.flow_revision, offer)
    ports.execution_ended.call(what.execution_id, what.flows_seen)


def kill_children(execution_id: str) -> None:
    for child_id in Execution.objects.filter(trigger_execution_id=execution_id).exclude(
            state__in=[s.value for s in TERMINATED]).values_list("id", flat=True):
        ports.kill.call(child_id)


def flow_retry(execution_id: str, spec: dict[str, Any]) -> None:
    """`CREATE_NEW_EXECUTION`: a fresh execution of the same flow, inputs and labels."""
    source = Execution.objects.get(id=execution_id)
    ports.replay.call(execution_id, attempt_number=int(spec["attemptNumber"]),
                      schedule_date=timezone.now() + timedelta(seconds=float(spec.get("delay") or 0)),
                      parent_is_source=False, _source=source)
