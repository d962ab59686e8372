"""The ORM glue around the pure engine (DESIGN.md §5).

`process(execution_id, event)` locks the execution row (`SELECT … FOR UPDATE`), loads the
snapshot, lets the engine decide, writes back only what changed, and registers the follow-up
work (dispatch to workers, child executions, wake-ups) with `transaction.on_commit`. Each
transaction locks exactly one execution, so parents and children never deadlock: a child that
ends tells its parent through a new transaction after its own commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.engine.compile import compile_flow
from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData, TaskRunData
from apps.engine.states import TERMINATED, State
from apps.executions import dispatch
from apps.executions.models import Delay, Execution, LogLine, TaskRun
from apps.flows import services as flow_services
from apps.flows import validation
from apps.flows.models import FlowRevision

log = logging.getLogger(__name__)

Event = Callable[[CompiledFlow, ExecutionData, Env], Effects]


# ---------------------------------------------------------------------------------------------
# Flows and snapshots


@lru_cache(maxsize=512)
def compiled(namespace: str, flow_id: str, revision: int) -> CompiledFlow:
    """The compiled flow of one stored revision (immutable, so cached per process)."""
    row = FlowRevision.objects.only("source").get(
        flow__namespace=namespace, flow__flow_id=flow_id, revision=revision)
    data = validation.apply_plugin_defaults(flow_services.parsed(row.source))
    return compile_flow(data, revision)


def env(services: Any = None) -> Env:
    return Env(now=timezone.now(), envs=envs(), globals=dict(getattr(settings, "WEIR_GLOBALS", {})),
               services=services)


def envs() -> dict[str, str]:
    """`envs.*`: process variables starting with KESTRA_, prefix removed, lower-cased."""
    import os

    return {k[len("KESTRA_"):].lower(): v for k, v in os.environ.items() if k.startswith("KESTRA_")}


def to_run(row: TaskRun) -> TaskRunData:
    return TaskRunData(
        id=row.id, task_id=row.task_id, parent_id=row.parent_task_run_id, value=row.value,
        iteration=row.iteration, state=State(row.state), history=list(row.history),
        attempts=list(row.attempts), outputs=row.outputs, seq=row.seq, plan=dict(row.plan),
        start_date=row.start_date, end_date=row.end_date,
    )


def to_data(row: Execution, runs: list[TaskRun]) -> ExecutionData:
    return ExecutionData(
        id=row.id, namespace=row.namespace, flow_id=row.flow_id, flow_revision=row.flow_revision,
        state=State(row.state), history=list(row.history), inputs=dict(row.inputs or {}),
        outputs=row.outputs, labels=list(row.labels or []), variables=dict(row.variables or {}),
        trigger=row.trigger, parent_id=row.parent_id, original_id=row.original_id, meta=dict(row.meta or {}),
        start_date=row.start_date, end_date=row.end_date, task_runs=[to_run(r) for r in runs],
    )


def snapshot(execution_id: str) -> tuple[Execution, ExecutionData]:
    row = Execution.objects.get(id=execution_id)
    return row, to_data(row, list(TaskRun.objects.filter(execution_id=execution_id).order_by("seq")))


# ---------------------------------------------------------------------------------------------
# Writing back


def _save(row: Execution, data: ExecutionData, effects: Effects) -> list[TaskRunData]:
    """Persist what the engine changed; returns the task runs to dispatch after commit."""
    fields = ["state", "history", "outputs", "labels", "meta", "start_date", "end_date", "inputs", "variables"]
    for name in fields:
        setattr(row, name, getattr(data, name))
    row.state = data.state.value
    row.save(update_fields=[*fields, "updated"])
    new_rows: list[TaskRun] = []
    dirty_rows: list[TaskRun] = []
    to_dispatch: list[TaskRunData] = []
    for run in data.task_runs:
        if not (run.new or run.dirty):
            continue
        model = TaskRun(
            id=run.id, execution_id=data.id, task_id=run.task_id, parent_task_run_id=run.parent_id,
            value=run.value, iteration=run.iteration, state=run.state.value, history=run.history,
            attempts=run.attempts, attempt_no=run.attempt_count, outputs=run.outputs, plan=run.plan,
            seq=run.seq, start_date=run.start_date, end_date=run.end_date,
        )
        if run.dispatch:
            model.dispatched_at = timezone.now()
            model.queue = dispatch.queue_for(run, data)
            to_dispatch.append(run)
        (new_rows if run.new else dirty_rows).append(model)
        run.new = run.dirty = False
    if new_rows:
        TaskRun.objects.bulk_create(new_rows)
    for model in dirty_rows:
        update = {
            "state": model.state, "history": model.history, "attempts": model.attempts,
            "attempt_no": model.attempt_no, "outputs": model.outputs, "plan": model.plan,
            "start_date": model.start_date, "end_date": model.end_date, "iteration": model.iteration,
        }
        if model.dispatched_at is not None:
            update["dispatched_at"] = model.dispatched_at
            update["queue"] = model.queue
        if model.state in TERMINATED:
            update["lease_until"] = None
        TaskRun.objects.filter(id=model.id).update(**update)
    if data.deleted_runs:
        TaskRun.objects.filter(id__in=data.deleted_runs).delete()
        data.deleted_runs = []
    if effects.delays:
        Delay.objects.bulk_create([
            Delay(execution_id=data.id, task_run_id=d.task_run_id, kind=d.kind, due=d.due, data=d.data)
            for d in effects.delays
        ])
    if effects.logs:
        append_logs(row, [(run_id, level, message) for run_id, level, message in effects.logs], data)
    return to_dispatch


def append_logs(row: Execution, lines: list[tuple[str | None, str, str]], data: ExecutionData | None = None,
                attempt: int | None = None) -> None:
    """Append log lines with contiguous per-execution `seq` (the caller holds the row lock)."""
    if not lines:
        return
    from apps.executions.secrets_mask import mask

    Execution.objects.filter(id=row.id).update(log_seq=F("log_seq") + len(lines))
    last = Execution.objects.values_list("log_seq", flat=True).get(id=row.id)
    first = last - len(lines) + 1
    task_ids: dict[str, str] = {}
    if data is not None:
        task_ids = {r.id: r.task_id for r in data.task_runs}
    now = timezone.now()
    LogLine.objects.bulk_create([
        LogLine(execution_id=row.id, seq=first + i, task_run_id=run_id, task_id=task_ids.get(run_id or ""),
                attempt=attempt, level=level, message=mask(message), timestamp=now)
        for i, (run_id, level, message) in enumerate(lines)
    ])
    row.log_seq = last


# ---------------------------------------------------------------------------------------------
# The one way an execution changes


def process(execution_id: str, event: Event, *, services: Any = None) -> ExecutionData | None:
    """Lock, load, decide, save, and schedule follow-ups after commit."""
    from apps.executions import lifecycle

    with transaction.atomic():
        try:
            row = Execution.objects.select_for_update().get(id=execution_id)
        except Execution.DoesNotExist:
            return None
        data = to_data(row, list(TaskRun.objects.filter(execution_id=execution_id).order_by("seq")))
        flow = compiled(row.namespace, row.flow_id, row.flow_revision)
        the_env = env(services or lifecycle.render_services(row))
        effects = event(flow, data, the_env)
        for _ in range(100):  # child executions may fail at creation and re-advance the parent
            more = lifecycle.start_subflows(row, flow, data, effects, the_env)
            if more is None:
                break
            effects = _merge(effects, more)
        to_dispatch = _save(row, data, effects)
        lifecycle.after_commit(row, data, effects)
        if to_dispatch:
            transaction.on_commit(lambda: dispatch.publish_many([(r.id, r.attempt_count) for r in to_dispatch],
                                                                data, to_dispatch))
    return data


def _merge(first: Effects, second: Effects) -> Effects:
    return Effects(
        delays=first.delays + second.delays, subflows=second.subflows, logs=first.logs + second.logs,
        ended=first.ended or second.ended, kill_children=first.kill_children or second.kill_children,
        new_execution=second.new_execution or first.new_execution,
    )


def now() -> datetime:
    return timezone.now()


def lease_seconds() -> float:
    return float(getattr(settings, "WEIR_LEASE_SECONDS", 30))


def lease_deadline() -> datetime:
    return timezone.now() + timedelta(seconds=lease_seconds())
