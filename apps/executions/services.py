"""Execution use cases (KESTRA.md §5.7, §7.2): create, kill, restart, replay, resume, pause,
change states and labels, wait. Each one checks its preconditions, then changes the execution
through `runner.process` so the engine's rules apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.services import record
from apps.core.errors import Conflict, NotFound, Problem, Unprocessable
from apps.engine import flowables, planner
from apps.engine.context import Env
from apps.engine.expressions import render_typed
from apps.engine.inputs import InputsInvalid, resolve_inputs, typed_inputs
from apps.engine.model import CompiledFlow, Effects, ExecutionData, new_id
from apps.engine.states import RESTARTABLE, TERMINATED, State, transition
from apps.executions.models import Delay, Execution, TaskRun
from apps.executions.runtime import lifecycle, runner, snapshots, subflow_chain
from apps.flows.validation import labels_as_dict
from apps.secrets.sealing import seal_inputs

MAX_SUBFLOW_DEPTH = 32


class ExecutionNotFound(NotFound):
    pass


def get(execution_id: str) -> Execution:
    try:
        return Execution.objects.get(id=execution_id, deleted=False)
    except Execution.DoesNotExist as error:
        raise NotFound(f"Execution '{execution_id}' not found") from error


def store_upload(execution_id: str, namespace: str, flow_id: str,
                 trust_local_files: bool = False) -> Callable[[str, Any], str]:
    """A `store_file` callback for FILE inputs: saves the upload, returns its storage URI.

    A string value is a local path only for trusted callers (the conformance runner, tests):
    from the API it would let anyone read the server's files (RELIABILITY.md §4 row 27).
    """
    from django.core.files.base import ContentFile, File
    from django.core.files.storage import storages

    def store(input_id: str, value: Any) -> str:
        storage = storages["default"]
        base = f"{namespace.replace('.', '/')}/{flow_id}/executions/{execution_id}/inputs/{input_id}/"
        if isinstance(value, bytes | bytearray):
            name = storage.save(base + f"{input_id}.upl", ContentFile(bytes(value)))
        elif isinstance(value, str):
            if not trust_local_files:
                raise ValueError("a FILE input must be uploaded as a file (multipart part `files`)")
            with open(value, "rb") as handle:
                name = storage.save(base + value.rsplit("/", 1)[-1], File(handle))
        else:
            filename = getattr(value, "name", None) or f"{input_id}.upl"
            name = storage.save(base + str(filename).rsplit("/", 1)[-1], File(value))
        return f"kestra:///{name}"

    return store


def _typed(declarations: list[Mapping[str, Any]], provided: Mapping[str, Any], store: Any) -> dict[str, Any]:
    resolved = resolve_inputs(declarations, provided, render_typed=render_typed, store_file=store)
    typed: dict[str, Any] = typed_inputs(resolved)
    return typed


def _inputs_problem(error: InputsInvalid) -> Unprocessable:
    problems = [Problem(path=f"inputs.{p.input_id}", message=p.message) for p in error.problems]
    return Unprocessable("Invalid inputs: " + "; ".join(p.message for p in problems), problems=problems)


def create_execution(namespace: str, flow_id: str, *, inputs: Mapping[str, Any] | None = None,
                     inputs_mode: str = "validated", labels: list[dict[str, Any]] | None = None,
                     revision: int | None = None, schedule_date: str | datetime | None = None,
                     trigger: dict[str, Any] | None = None, parent: tuple[str, str, bool] | None = None,
                     callers: list[str] | None = None, start: bool = True,
                     variables: dict[str, Any] | None = None, trust_local_files: bool = False) -> Execution:
    """Create an execution (no row at all when an input is invalid) and start it after commit.

    `inputs_mode`: `validated` types and checks inputs against the flow (API, subflows);
    `raw` stores them as given; `none` stores nothing. Declared defaults always apply when
    rendering. `callers`: for a subflow, the `namespace.flowId` of every execution above it,
    outermost first (refused past WEIR_MAX_SUBFLOW_DEPTH, apps/executions/runtime/subflow_chain.py).
    """
    if callers is not None:
        subflow_chain.check_depth(callers, namespace, flow_id)
    latest, disabled = _flow_head(namespace, flow_id)
    if disabled:
        raise Conflict(f"Flow '{namespace}.{flow_id}' is disabled")
    rev = revision or latest
    try:
        compiled = runner.compiled(namespace, flow_id, rev)
    except Exception as error:
        raise NotFound(f"Revision {rev} of flow '{namespace}.{flow_id}' not found") from error
    execution_id = new_id()
    declarations = list(compiled.raw.get("inputs") or [])
    provided = dict(inputs or {})
    if inputs_mode == "validated":
        try:
            typed = _typed(declarations, provided,
                           store_upload(execution_id, namespace, flow_id, trust_local_files))
        except InputsInvalid as error:
            raise _inputs_problem(error) from error
    else:
        typed = _defaults(declarations)
        if inputs_mode == "raw":
            typed.update(provided)
    typed = seal_inputs(declarations, typed)  # SECRET inputs are stored encrypted (apps/secrets)
    when = _parse_date(schedule_date)
    now = timezone.now()
    all_labels = _merge_labels(labels_list(compiled.raw.get("labels")), labels or [])
    if not any(lb.get("key") == "system.correlationId" for lb in all_labels):
        all_labels.append({"key": "system.correlationId", "value": execution_id})
    meta: dict[str, Any] = {"attemptNumber": 1, "originalCreatedDate": now.isoformat()}
    if parent is not None:
        meta["parent"] = {"executionId": parent[0], "taskRunId": parent[1], "wait": parent[2]}
    if callers:
        meta[subflow_chain.META_KEY] = callers
    row = Execution(
        id=execution_id, namespace=namespace, flow_id=flow_id, flow_revision=rev, state="CREATED",
        history=[{"state": "CREATED", "date": now.isoformat()}], inputs=typed, labels=all_labels,
        variables=variables or {}, trigger=trigger, original_id=execution_id, meta=meta, schedule_date=when,
        trigger_execution_id=parent[0] if parent else None,
    )
    with transaction.atomic():
        record(None, "execution.create", namespace=namespace, target_type="execution", target_id=row.id,
               after={"flowId": flow_id, "revision": rev, "labels": all_labels})
        # A top-level execution starts in this transaction, its last step (so the COMMIT goes
        # with the start's writes); a child waits for its parent's commit (a transaction decides
        # for one execution only, lifecycle's rule).
        if not (start and parent is None and lifecycle.start_new(row, last=True)):
            row.save(force_insert=True)
            if start:
                transaction.on_commit(lambda: lifecycle.start(row.id))
    return row


def _flow_head(namespace: str, flow_id: str) -> tuple[int, bool]:
    """The flow's latest revision and whether it is disabled, in one plain query: creating an
    execution is the API's most frequent write, and the ORM's query building was a fifth of it.
    Prepared on PostgreSQL (`hot_cursor`): parsed and planned anew, it cost PostgreSQL 0.1 ms."""
    with snapshots.hot_cursor() as cursor:
        cursor.execute("SELECT revision, disabled FROM weir_flow WHERE namespace = %s AND flow_id = %s "
                       "AND NOT deleted", [namespace, flow_id])
        found = cursor.fetchone()
    if found is None:
        raise NotFound(f"Flow '{namespace}.{flow_id}' not found")
    return int(found[0]), bool(found[1])


def _defaults(declarations: list[Mapping[str, Any]]) -> dict[str, Any]:
    from apps.engine.inputs import defaults_for_render

    defaults: dict[str, Any] = defaults_for_render(declarations)
    return defaults


def _parse_date(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise Unprocessable(f"scheduleDate '{value}' is not an ISO date-time")
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def labels_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        return [{"key": str(k), "value": str(v)} for k, v in value.items()]
    if isinstance(value, list):
        return [{"key": str(i.get("key")), "value": str(i.get("value"))} for i in value if isinstance(i, Mapping)]
    return []


def _merge_labels(base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = [dict(lb) for lb in base]
    for label in extra:
        for item in merged:
            if item["key"] == label["key"]:
                item["value"] = label["value"]
                break
        else:
            merged.append(dict(label))
    return merged


# ---------------------------------------------------------------------------------------------
# Waiting


def wait(execution_id: str, timeout: float = 60.0, *, until: frozenset[State] | None = None) -> Execution:
    """Poll until the execution is terminal (or in one of `until`); returns the last row read."""
    targets = until or TERMINATED
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        row = Execution.objects.get(id=execution_id)
        if State(row.state) in targets or time.monotonic() > deadline:
            return row
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


# ---------------------------------------------------------------------------------------------
# Kill, pause, resume


def kill(execution_id: str, cascade: bool = True) -> Execution:
    row = get(execution_id)
    if State(row.state) in TERMINATED:
        raise Conflict(f"Execution '{execution_id}' is already terminated ({row.state})")

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        effects = planner.kill(flow, data, env)
        effects.kill_children = cascade
        return effects

    runner.process(execution_id, event)
    _audit("execution.kill", row)
    return get(execution_id)


def pause(execution_id: str) -> Execution:
    row = get(execution_id)
    if row.state != "RUNNING":
        raise Unprocessable(f"Execution '{execution_id}' is {row.state}: only a RUNNING execution can be paused")

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        if data.state == State.RUNNING:
            transition(data, State.PAUSED, env.now)
            data.meta["manualPause"] = True
        return Effects()

    runner.process(execution_id, event)
    _audit("execution.pause", row)
    return get(execution_id)


def resume(execution_id: str, inputs: Mapping[str, Any] | None = None) -> Execution:
    row = get(execution_id)
    if row.state != "PAUSED":
        raise Conflict(f"Execution '{execution_id}' is {row.state}: only a PAUSED execution can be resumed")
    paused = TaskRun.objects.filter(execution_id=execution_id, state="PAUSED").order_by("seq").first()
    on_resume: dict[str, Any] = {}
    if paused is not None:
        flow = runner.compiled(row.namespace, row.flow_id, row.flow_revision)
        declarations = flow.node(paused.task_id).raw.get("onResume") or []
        if declarations:
            try:
                on_resume = _typed(declarations, dict(inputs or {}),
                                   store_upload(execution_id, row.namespace, row.flow_id))
            except InputsInvalid as error:
                raise _inputs_problem(error) from error

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        effects = Effects()
        p = planner.Planner(flow, data, env, effects)
        if data.meta.pop("manualPause", None):
            p.set_ex(State.RESTARTED)
        elif paused is not None:
            run = data.run(paused.id)
            if run.state == State.PAUSED:
                flowables.resume_pause(p, run, on_resume)
        return p.advance()

    runner.process(execution_id, event)
    _audit("execution.resume", row)
    return get(execution_id)


def set_task_run_state(execution_id: str, task_run_id: str, state: str) -> Execution:
    """Force a task run's state (markAs): ancestors go RUNNING and the execution continues."""
    try:
        target = State(state)
    except ValueError as error:
        raise Unprocessable(f"'{state}' is not a state") from error
    row = get(execution_id)
    if not TaskRun.objects.filter(execution_id=execution_id, id=task_run_id).exists():
        raise NotFound(f"Task run '{task_run_id}' not found in execution '{execution_id}'")

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        effects = Effects()
        p = planner.Planner(flow, data, env, effects)
        run = data.run(task_run_id)
        node = flow.node(run.task_id)
        if node.is_pause and run.state == State.PAUSED and target == State.RUNNING:
            flowables.resume_pause(p, run, {})
        else:
            run.state = target
            run.history.append({"state": target.value, "date": env.now.isoformat()})
            if run.attempts:
                run.attempts[-1]["state"] = target.value
            run.dirty = True
            _reopen_ancestors(p, data, run)
        if data.state != State.RUNNING:
            data.meta.pop("manualPause", None)
            data.state = State.RESTARTED
            data.history.append({"state": "RESTARTED", "date": env.now.isoformat()})
            data.end_date = None
        return p.advance()

    runner.process(execution_id, event)
    _audit("execution.task-run-state", row, after={"taskRunId": task_run_id, "state": target.value})
    return get(execution_id)


def _reopen_ancestors(p: planner.Planner, data: ExecutionData, run: Any) -> None:
    from apps.engine.context import ancestors

    for parent in ancestors(data, run):
        if parent.state != State.RUNNING:
            parent.state = State.RUNNING
            parent.history.append({"state": "RUNNING", "date": p.now_iso()})
            parent.end_date = None
            parent.dirty = True


def change_status(execution_id: str, state: str) -> Execution:
    row = get(execution_id)
    try:
        target = State(state)
    except ValueError as error:
        raise Unprocessable(f"'{state}' is not a state") from error
    if State(row.state) not in TERMINATED or target not in TERMINATED:
        raise Unprocessable("Only a terminated execution can change status, and only to a terminal state")

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        transition(data, target, env.now)
        return Effects()

    runner.process(execution_id, event)
    _audit("execution.change-status", row, after={"state": target.value})
    return get(execution_id)


def set_labels(execution_id: str, labels: list[dict[str, Any]]) -> Execution:
    row = get(execution_id)
    if State(row.state) not in TERMINATED:
        raise Unprocessable("Labels can only be set on a terminated execution")
    for label in labels:
        if str(label.get("key", "")).startswith("system."):
            raise Unprocessable(f"System label '{label.get('key')}' can not be set")

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        system = [lb for lb in data.labels if str(lb.get("key")).startswith("system.")]
        data.labels = _merge_labels(system, [{"key": str(lb["key"]), "value": str(lb["value"])} for lb in labels])
        return Effects()

    runner.process(execution_id, event)
    _audit("execution.labels", row, before={"labels": row.labels}, after={"labels": get(execution_id).labels})
    return get(execution_id)


# ---------------------------------------------------------------------------------------------
# Restart and replay


def restart(execution_id: str, revision: int | None = None) -> Execution:
    row = get(execution_id)
    state = State(row.state)
    failed = TaskRun.objects.filter(execution_id=execution_id, state__in=[s.value for s in RESTARTABLE]).exists()
    if not (state in TERMINATED or state == State.PAUSED) or not failed:
        raise Conflict(f"Execution '{execution_id}' can not be restarted: it must be terminated or paused "
                       "with at least one FAILED or PAUSED task run")
    if revision is not None and revision != row.flow_revision:
        return replay(execution_id, revision=revision, restart_failed=True)

    def event(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
        _restart_snapshot(flow, data, env)
        return Effects()

    runner.process(execution_id, event)
    _audit("execution.restart", row)
    restarted = get(execution_id)
    # The execution is RESTARTED now (what the API returns); a worker moves it on, as in Kestra.
    transaction.on_commit(lambda: advance_later(execution_id))
    return restarted


def advance_later(execution_id: str) -> None:
    """Ask a worker to run the executor loop for this execution."""
    from apps.executions.runtime.tasks import advance

    try:
        advance.apply_async(args=[execution_id])
    except Exception:  # the broker is down: advance here rather than lose the restart
        runner.process(execution_id, lambda f, d, e: planner.advance(f, d, e))


def _restart_snapshot(flow: CompiledFlow, data: ExecutionData, env: Env) -> None:
    """Reset FAILED/PAUSED leaves to RESTARTED, their ancestors to RUNNING, drop error branches."""
    from apps.engine.context import ancestors

    by_parent: dict[str | None, list[Any]] = {}
    for run in data.task_runs:
        by_parent.setdefault(run.parent_id, []).append(run)
    error_ids = {r.id for r in data.task_runs if flow.node(r.task_id).in_errors}
    doomed: set[str] = set()

    def drop(run_id: str) -> None:
        doomed.add(run_id)
        for kid in by_parent.get(run_id, []):
            drop(kid.id)

    for run_id in error_ids:
        drop(run_id)
    now = env.now.isoformat()
    for run in data.task_runs:
        if run.id in doomed or run.state not in RESTARTABLE:
            continue
        has_failed_kids = any(k.state in RESTARTABLE and k.id not in doomed for k in by_parent.get(run.id, []))
        if has_failed_kids:
            continue
        node = flow.node(run.task_id)
        if node.kind == "flowable" and not node.is_pause:
            # a flowable that failed on its own (render error…): start it again from scratch
            for kid in by_parent.get(run.id, []):
                drop(kid.id)
        run.state = State.RESTARTED
        run.history.append({"state": "RESTARTED", "date": now})
        run.plan = {k: v for k, v in run.plan.items() if k not in ("dispatched", "runIfChecked")}
        run.end_date = None
        run.dirty = True
        for parent in ancestors(data, run):
            if parent.state != State.RUNNING:
                parent.state = State.RUNNING
                parent.history.append({"state": "RUNNING", "date": now})
                parent.end_date = None
                parent.dirty = True
    data.task_runs = [r for r in data.task_runs if r.id not in doomed]
    data.deleted_runs.extend(doomed)
    data.state = State.RESTARTED
    data.history.append({"state": "RESTARTED", "date": now})
    data.end_date = None
    data.meta["attemptNumber"] = int(data.meta.get("attemptNumber", 1)) + 1
    data.meta.pop("manualPause", None)
    data.dirty = True


def replay(execution_id: str, task_run_id: str | None = None, revision: int | None = None, *,
           attempt_number: int | None = None, schedule_date: datetime | None = None,
           parent_is_source: bool = True, restart_failed: bool = False, _source: Execution | None = None) -> Execution:
    """A new execution from an old one: the same inputs and labels, and, from a task run, a copy
    of the task runs before it with that one reset (KESTRA.md §5.7)."""
    source = _source or get(execution_id)
    runs = list(TaskRun.objects.filter(execution_id=execution_id).order_by("seq"))
    if task_run_id and not any(r.id == task_run_id for r in runs):
        raise NotFound(f"Task run '{task_run_id}' not found in execution '{execution_id}'")
    new = new_id()
    now = timezone.now()
    meta = {"attemptNumber": attempt_number or 1,
            "originalCreatedDate": (source.meta or {}).get("originalCreatedDate", now.isoformat())}
    labels = [dict(lb) for lb in source.labels]
    copy = Execution(
        id=new, namespace=source.namespace, flow_id=source.flow_id, flow_revision=revision or source.flow_revision,
        state="CREATED", history=[{"state": "CREATED", "date": now.isoformat()}], inputs=source.inputs,
        labels=labels, variables=source.variables, trigger=source.trigger,
        parent_id=source.id if parent_is_source else source.parent_id, original_id=source.original_id,
        meta=meta, schedule_date=schedule_date,
    )
    with transaction.atomic():
        copy.save()
        if task_run_id or restart_failed:
            _copy_runs(source, copy, runs, task_run_id)
        else:
            transaction.on_commit(lambda: lifecycle.start(new))
        record(None, "execution.replay", namespace=source.namespace, target_type="execution", target_id=new,
               before={"executionId": source.id}, after={"taskRunId": task_run_id, "revision": copy.flow_revision})
    return copy


def _copy_runs(source: Execution, copy: Execution, runs: list[TaskRun], task_run_id: str | None) -> None:
    ids = {r.id: new_id() for r in runs}
    target = next((r for r in runs if r.id == task_run_id), None)
    keep: list[TaskRun] = []
    ancestors: set[str] = set()
    if target is not None:
        by_id = {r.id: r for r in runs}
        parent = target.parent_task_run_id
        while parent:
            ancestors.add(parent)
            parent = by_id[parent].parent_task_run_id if parent in by_id else None
        keep = [r for r in runs if r.seq <= target.seq or r.id in ancestors]
    else:
        keep = list(runs)
    for run in keep:
        clone = TaskRun(
            id=ids[run.id], execution_id=copy.id, task_id=run.task_id,
            parent_task_run_id=ids.get(run.parent_task_run_id or "") if run.parent_task_run_id else None,
            value=run.value, iteration=run.iteration, state=run.state, history=list(run.history),
            attempts=list(run.attempts), attempt_no=run.attempt_no, outputs=run.outputs, plan=dict(run.plan),
            seq=run.seq, start_date=run.start_date, end_date=run.end_date,
        )
        if target is not None and run.id == target.id:
            clone.state = "RESTARTED"
            clone.history = [*clone.history, {"state": "RESTARTED", "date": timezone.now().isoformat()}]
            clone.plan = {k: v for k, v in clone.plan.items() if k not in ("dispatched", "runIfChecked")}
        elif run.id in ancestors:
            clone.state = "RUNNING"
        clone.save(force_insert=True)
    if target is None:
        # restart on a new revision: reset failed leaves as a restart would
        pass
    copy.state = "RESTARTED"
    copy.history = [*copy.history, {"state": "RESTARTED", "date": timezone.now().isoformat()}]
    copy.save(update_fields=["state", "history"])
    transaction.on_commit(lambda: advance_later(copy.id))


def delete(execution_id: str) -> None:
    row = get(execution_id)
    with transaction.atomic():
        _audit("execution.delete", row)
        row.delete()


def _audit(action: str, row: Execution, before: Any = None, after: Any = None) -> None:
    """One audit event about `row` for the current request's user (none outside requests)."""
    record(None, action, namespace=row.namespace, target_type="execution", target_id=row.id,
           before=before if before is not None else {"state": row.state}, after=after)


def delays_due(limit: int = 100) -> list[Delay]:
    return list(Delay.objects.filter(due__lte=timezone.now()).order_by("due")[:limit])


__all__ = [
    "Conflict", "NotFound", "change_status", "create_execution", "delete", "get", "kill", "labels_as_dict",
    "pause", "replay", "restart", "resume", "set_labels", "set_task_run_state", "wait",
]
