"""The ORM glue around the pure engine (DESIGN.md §5).

`process(execution_id, event)` locks the execution row (`SELECT … FOR UPDATE`), loads the
snapshot, lets the engine decide, writes back only what changed, and registers the follow-up
work (dispatch to workers, child executions, wake-ups) with `transaction.on_commit`. Each
transaction locks exactly one execution, so parents and children never deadlock: a child that
ends tells its parent through a new transaction after its own commit.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.engine import planner
from apps.engine.compile import compile_flow
from apps.engine.context import Env
from apps.engine.model import CompiledFlow, Effects, ExecutionData, TaskRunData
from apps.engine.states import TERMINATED, State
from apps.executions import nsconfig, telemetry
from apps.executions.models import Delay, Execution, LogLine, TaskRun
from apps.executions.runtime import dispatch, ports, results, runrows, snapshots
from apps.flows import services as flow_services
from apps.flows import validation
from apps.flows.models import FlowRevision

log = logging.getLogger(__name__)

Event = Callable[[CompiledFlow, ExecutionData, Env], Effects]


# ---------------------------------------------------------------------------------------------
# Flows and snapshots


def compiled(namespace: str, flow_id: str, revision: int) -> CompiledFlow:
    """The compiled flow of one stored revision with its namespace's plugin defaults."""
    return _compiled(namespace, flow_id, revision, nsconfig.for_namespace(namespace).defaults_key)


@lru_cache(maxsize=512)
def _compiled(namespace: str, flow_id: str, revision: int, defaults_key: str) -> CompiledFlow:
    """A stored revision is immutable, so its compilation is cached per process, keyed also by
    the namespace's plugin defaults (which the flow's own `pluginDefaults` take precedence over)."""
    row = FlowRevision.objects.only("document").get(  # the YAML only for a revision without a document
        flow__namespace=namespace, flow__flow_id=flow_id, revision=revision)
    data = flow_services.revision_data(row)
    inherited = json.loads(defaults_key)
    if inherited:
        data["pluginDefaults"] = [*(data.get("pluginDefaults") or []), *inherited]
    return compile_flow(validation.apply_plugin_defaults(data), revision)


def clear_compiled() -> None:
    """Forget compiled flows and namespace settings (tests and the conformance runner reuse ids)."""
    _compiled.cache_clear()
    nsconfig.forget()


def env(services: Any = None) -> Env:
    return Env(now=timezone.now(), envs=envs(), globals=dict(getattr(settings, "WEIR_GLOBALS", {})),
               services=services)


def envs() -> dict[str, str]:
    """`envs.*`: process variables starting with KESTRA_, prefix removed, lower-cased.

    Read on every decision, and the environment may change between them (the conformance
    runner sets variables per scenario), so it is not cached; CPython's bytes mapping behind
    `os.environ` is scanned directly, which skips decoding every variable of the process."""
    import os

    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict) and all(isinstance(k, bytes) for k in list(raw)[:1]):
        return {k[7:].decode().lower(): v.decode() for k, v in raw.items() if k[:7] == b"KESTRA_"}
    return {k[len("KESTRA_"):].lower(): v for k, v in os.environ.items() if k.startswith("KESTRA_")}


def to_run(row: TaskRun) -> TaskRunData:
    return TaskRunData(
        id=row.id, task_id=row.task_id, parent_id=row.parent_task_run_id, value=row.value,
        iteration=row.iteration, state=State(row.state), history=list(row.history),
        attempts=list(row.attempts), outputs=row.outputs, seq=row.seq, plan=dict(row.plan),
        start_date=row.start_date, end_date=row.end_date,
    )


_RUN_COLUMNS = ("id", "task_id", "parent_task_run_id", "value", "iteration", "state", "history", "attempts",
                "outputs", "seq", "plan", "start_date", "end_date")


def load_runs(execution_id: str, only_ids: list[str] | None = None, since_rev: int | None = None
              ) -> list[TaskRunData]:
    """An execution's task runs (or those in `only_ids`, or those written after `since_rev` on
    SQLite) in `seq` order, read with plain SQL as tuples: through the ORM, building the query
    and model instances only to convert them cost more than the read itself (a long loop on
    SQLite reads the changed rows on every decision)."""
    sql = f"SELECT {', '.join(_RUN_COLUMNS)} FROM weir_task_run WHERE execution_id = %s"
    params: list[Any] = [execution_id]
    if only_ids is not None:
        if not only_ids:
            return []
        sql += f" AND id IN ({', '.join(['%s'] * len(only_ids))})"
        params += only_ids
    if since_rev is not None:
        sql += " AND rev > %s"
        params.append(since_rev)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY seq", params)
        rows = cursor.fetchall()
    decoded = snapshots.as_json  # JSON columns: text from a plain cursor
    return [
        TaskRunData(id=i, task_id=t, parent_id=p, value=v, iteration=it, state=State(st), history=decoded(h) or [],
                    attempts=decoded(a) or [], outputs=decoded(o), seq=sq, plan=decoded(pl) or {}, start_date=sd,
                    end_date=ed)
        for i, t, p, v, it, st, h, a, o, sq, pl, sd, ed in rows
    ]


def to_data(row: Execution | Any, runs: list[TaskRun] | list[TaskRunData]) -> ExecutionData:
    """`row`: an Execution, or anything with its column attributes (a claim reads it as JSON)."""
    return ExecutionData(
        id=row.id, namespace=row.namespace, flow_id=row.flow_id, flow_revision=row.flow_revision,
        state=State(row.state), history=list(row.history), inputs=dict(row.inputs or {}),
        outputs=row.outputs, labels=list(row.labels or []), variables=dict(row.variables or {}),
        trigger=row.trigger, parent_id=row.parent_id, original_id=row.original_id,
        meta=copy.deepcopy(row.meta or {}),
        start_date=row.start_date, end_date=row.end_date,
        task_runs=[r if isinstance(r, TaskRunData) else to_run(r) for r in runs],
    )


def snapshot(execution_id: str) -> tuple[Execution, ExecutionData]:
    row = Execution.objects.get(id=execution_id)
    return row, to_data(row, load_runs(execution_id))


# ---------------------------------------------------------------------------------------------
# Writing back


_EXECUTION_FIELDS = ("state", "history", "outputs", "labels", "meta", "start_date", "end_date", "inputs",
                     "variables")


@dataclass
class Inline:
    """A worker offering to run the next task itself (docs/adr/0007).

    When the decision dispatches a run on `queue`, `_save` writes one of them straight into
    RUNNING for this worker (attempt, lease, history) instead of publishing it: the worker then
    runs it without a broker round trip or a claim query. The others are published as usual.
    """

    queue: str
    worker: str
    claimed: TaskRunData | None = None
    hand_off: bool = False
    """The worker takes nothing more (its inline budget is spent): publish a held run instead,
    so the execution keeps its share of workers (docs/adr/0009)."""
    handed: TaskRunData | None = None
    data: ExecutionData | None = None
    """The snapshot of the decision that claimed `claimed`: another execution's when the offer
    was passed on to the start of a queued execution (`current_offer`)."""


def _save(row: Execution, data: ExecutionData, effects: Effects, inline: Inline | None = None,
          folded: set[str] | None = None, decided_at: str | None = None,
          writes: runrows.Writes | None = None) -> list[TaskRunData]:
    """Persist what the engine changed; returns the task runs to dispatch after commit.

    `decided_at` is the decision's clock (ISO): a run whose last transition carries it, into a
    final state, ended in this decision and is counted (`telemetry`) once the transaction commits.
    `writes`: where the writes are gathered, sent together at the end (one round trip under the
    execution's lock; with the transaction's COMMIT when it was made so: `_commits_with_writes`,
    docs/adr/0030)."""
    writes = writes or runrows.Writes()
    seq_before = row.log_seq
    if effects.logs:  # foreign keys are checked at commit: lines may precede a new row
        append_logs(row, [(run_id, level, message) for run_id, level, message in effects.logs], data, save=False,
                    writes=writes)
    # Only a row that changed is written: most worker results leave the execution as it was.
    changed = [name for name in _EXECUTION_FIELDS if getattr(row, name) != _stored(data, name)]
    for name in changed:
        setattr(row, name, _stored(data, name))
    if row._state.adding:  # process_new: the row is inserted with the decision's result
        writes.add(*_execution_insert(row))
    elif changed or row.log_seq != seq_before:
        row.updated = timezone.now()
        writes.add(*_execution_update(row, [*changed, "log_seq", "updated"]))
    new_rows: list[dict[str, Any]] = []
    to_dispatch: list[TaskRunData] = []
    now = timezone.now()
    if inline is not None:
        _pick_inline(data, inline, now)
    budgets: dict[str, int | None] = {}
    ended: list[telemetry.Ended] = []
    claimed_held = False
    for run in _flagged(data):
        if not (run.new or run.dirty):
            run.dispatch = False
            continue
        dispatching, run.dispatch = run.dispatch, False
        if run.state in TERMINATED and decided_at is not None and run.history \
                and run.history[-1]["date"] == decided_at:
            ended.append((run.state.value, run.start_date, run.end_date))
        queue = dispatch.queue_for(run, data) if dispatching else ""
        if dispatching:
            if run is inline_claimed(inline):
                claimed_held = run.plan.pop("held", None) is not None
            elif (inline is not None and run is inline.handed) or _spend(budgets, queue):
                run.plan.pop("held", None)
                to_dispatch.append(run)
            else:
                run.plan["held"] = True  # a worker of this execution claims it (docs/adr/0009)
                data.indexed().held[run.id] = None
        fields: dict[str, Any] = {
            "state": run.state.value, "history": run.history, "attempts": run.attempts,
            "attempt_no": run.attempt_count, "outputs": run.outputs, "plan": run.plan,
            "start_date": run.start_date, "end_date": run.end_date, "iteration": run.iteration,
        }
        if dispatching:
            fields["dispatched_at"], fields["queue"] = now, queue
        if inline is not None and run is inline.claimed:
            fields["lease_until"], fields["worker"] = now + timedelta(seconds=lease_seconds()), inline.worker
        elif run.state in TERMINATED:
            fields["lease_until"] = None
        if run.new:
            new_rows.append({**fields, "id": run.id, "execution_id": data.id, "task_id": run.task_id,
                             "parent_task_run_id": run.parent_id, "value": run.value, "seq": run.seq})
        elif inline is not None and run is inline.claimed:  # a held run: another worker may take it
            writes.claim(run.id, fields, run.attempt_count - 1, held=claimed_held)
        elif inline is not None and run is inline.handed:  # published, unless a worker took it meanwhile
            writes.claim(run.id, fields, run.attempt_count, held=True)
        else:
            if folded and run.id in folded:
                fields["result"] = None
                folded.discard(run.id)
            writes.update(run.id, fields)
        run.new = run.dirty = False
    writes.insert(new_rows)
    if ended:
        transaction.on_commit(lambda: telemetry.task_runs_ended(data.namespace, data.flow_id, ended))
    if folded:  # outcomes that no longer matched their run: drop them (their logs were kept)
        TaskRun.objects.filter(id__in=folded).update(result=None)
    if data.deleted_runs:
        TaskRun.objects.filter(id__in=data.deleted_runs).delete()
        data.deleted_runs = []
    if effects.delays:
        Delay.objects.bulk_create([
            Delay(execution_id=data.id, task_run_id=d.task_run_id, kind=d.kind, due=d.due, data=d.data)
            for d in effects.delays
        ])
    # The decision's last statements (with the COMMIT, if `writes` was made so).
    if not writes.send() and inline is not None:
        inline.claimed = None
        if inline.handed is not None:  # its message would find it taken: the worker that took it goes on
            to_dispatch = [run for run in to_dispatch if run is not inline.handed]
            inline.handed = None
    return to_dispatch


_EXECUTION_COLUMNS = {f.attname: f.column for f in Execution._meta.concrete_fields}


def _execution_update(row: Execution, names: list[str]) -> tuple[str, list[Any]]:
    """`row.save(update_fields=names)` as one statement for `runrows.Writes` (the ORM's save
    is a round trip of its own, and builds its query anew every time)."""
    assignments = ", ".join(f"{_EXECUTION_COLUMNS[name]} = %s" for name in names)
    return f"UPDATE weir_execution SET {assignments} WHERE id = %s", [*_execution_values(row, names), row.id]


def _execution_insert(row: Execution) -> tuple[str, list[Any]]:
    """`row.save(force_insert=True)` as one statement for `runrows.Writes`, sent with the new
    execution's task runs (and, from `create_execution`, with its COMMIT)."""
    fields = Execution._meta.concrete_fields
    values = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    row._state.adding, row._state.db = False, connection.alias
    columns, marks = ", ".join(field.column for field in fields), ", ".join(["%s"] * len(fields))
    return f"INSERT INTO weir_execution ({columns}) VALUES ({marks})", values


def _execution_values(row: Execution, names: list[str]) -> list[Any]:
    values = []
    for name in names:
        value = getattr(row, name)
        if name in snapshots.EXECUTION_JSON:
            value = None if value is None else json.dumps(value)
        elif isinstance(value, datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
    return values


def _flagged(data: ExecutionData) -> list[TaskRunData]:
    """The runs with something to write or send (`new`, `dirty`, `dispatch`), in order: the run
    index collects them as they are flagged, so a decision does not look at every run."""
    flagged = data.indexed().take_flagged()
    if planner.checking():
        exact = [run.id for run in data.task_runs if run.new or run.dirty or run.dispatch]
        assert [run.id for run in flagged] == exact, "the run index lost track of a run to write"
    return flagged


def inline_claimed(inline: Inline | None) -> TaskRunData | None:
    return inline.claimed if inline is not None else None


def _spend(budgets: dict[str, int | None], queue: str) -> bool:
    """Whether one more run may be published on `queue` in this decision."""
    if queue not in budgets:
        budgets[queue] = dispatch.budget(queue)
    left = budgets[queue]
    if left is None:
        return True
    budgets[queue] = left - 1
    return left > 0


def _pick_inline(data: ExecutionData, inline: Inline, now: datetime) -> None:
    """Claim, for the offering worker, one run this decision dispatches on its queue, else one
    held earlier (docs/adr/0009). Runs published earlier are left to their messages: taking
    them would leave a message behind for every run taken, which costs more than it saves.
    With `hand_off`, the held run is published instead of claimed."""
    if not inline.hand_off:
        index = data.indexed()
        position = index.position
        dispatching = [run for run in index.flagged.values() if run.dispatch and index.by_id.get(run.id) is run]
        for run in sorted(dispatching, key=lambda run: position[run.id]):
            if dispatch.queue_for(run, data) == inline.queue:
                _claim_in_place(run, now)
                inline.claimed = run
                return
    held = first_held(data, inline.queue)
    if held is not None:
        held.dispatch = held.dirty = True
        if inline.hand_off:
            inline.handed = held
        else:
            _claim_in_place(held, now)
            inline.claimed = held


def first_held(data: ExecutionData, queue: str | None = None) -> TaskRunData | None:
    """The first run held for this execution's workers (on `queue`, if given), from the run
    index's list of held runs; entries no longer held are dropped on the way, so on a wide
    fan-out, where nearly every run is held, finding one does not walk the execution."""
    index = data.indexed()
    found, stale = None, []
    for run_id in index.held:
        run = index.by_id.get(run_id)
        if run is None or not is_held(run):
            stale.append(run_id)
        elif queue is None or dispatch.queue_for(run, data) == queue:
            found = run
            break
    for run_id in stale:
        del index.held[run_id]
    if planner.checking() and found is None and queue is None:
        assert not any(is_held(run) for run in data.task_runs), "the run index lost track of a held run"
    return found


def any_held(data: ExecutionData) -> bool:
    return first_held(data) is not None


def is_held(run: TaskRunData) -> bool:
    """Runnable and waiting for a worker of its execution to claim it, with no message."""
    return (run.state in (State.CREATED, State.RESTARTED) and bool(run.plan.get("held"))
            and run.plan.get("dispatched") == run.attempt_count)


def _stored(data: ExecutionData, name: str) -> Any:
    value = getattr(data, name)
    return value.value if name == "state" else value


def _claim_in_place(run: TaskRunData, now: datetime) -> None:
    """What a worker's claim would write (RUNNING, one more attempt), done before the row exists."""
    stamp = now.isoformat()
    run.state = State.RUNNING
    run.history = [*run.history, {"state": "RUNNING", "date": stamp}]
    run.attempts = [*run.attempts, {"state": "RUNNING", "startDate": stamp}]
    run.start_date = run.start_date or stamp


def append_logs(row: Execution, lines: list[tuple[str | None, str, str]], data: ExecutionData | None = None,
                attempt: int | None = None, *, save: bool = True, writes: runrows.Writes | None = None) -> None:
    """Append log lines with contiguous per-execution `seq`.

    The caller holds the row lock and loaded `row` under it, so `row.log_seq` is current; with
    `save=False` the caller writes `log_seq` back with the rest of the row. With `writes`, the
    lines are inserted when the caller sends them, with its other writes.
    """
    if not lines:
        return
    from apps.secrets.masking import mask

    first = row.log_seq + 1
    runs = data.indexed().by_id if data is not None else {}
    now = timezone.now()
    if writes is not None:
        stamp = connection.ops.adapt_datetimefield_value(now)
        writes.add(_INSERT_LOG, [
            [row.id, first + i, run_id, runs[run_id].task_id if run_id in runs else None, attempt, level,
             mask(message), stamp]
            for i, (run_id, level, message) in enumerate(lines)], many=True)
    else:
        LogLine.objects.bulk_create([
            LogLine(execution_id=row.id, seq=first + i, task_run_id=run_id,
                    task_id=runs[run_id].task_id if run_id in runs else None,
                    attempt=attempt, level=level, message=mask(message), timestamp=now)
            for i, (run_id, level, message) in enumerate(lines)
        ])
    row.log_seq = first + len(lines) - 1
    telemetry.log_lines(level for _, level, _ in lines)
    if save:
        Execution.objects.filter(id=row.id).update(log_seq=row.log_seq)
        transaction.on_commit(lambda: ports.live_row_changed.call(row))  # live views (apps/live)


_INSERT_LOG = ("INSERT INTO weir_log_line (execution_id, seq, task_run_id, task_id, attempt, level, message, "
               "timestamp) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


# ---------------------------------------------------------------------------------------------
# The one way an execution changes


class Busy(Exception):
    """Raised inside `process(..., wait=False)` when another transaction holds the execution."""


def process(execution_id: str, event: Event, *, services: Any = None, inline: Inline | None = None,
            wait: bool | float = True) -> ExecutionData | None:
    """Lock, load, fold in pending worker outcomes, decide, save, and schedule follow-ups after
    commit. With `wait=False` a locked execution is not waited for, and with `wait=<seconds>`
    (workers) not longer than that (PostgreSQL): None is returned and nothing is written."""
    try:
        return _process(execution_id, event, services, inline, wait)
    except snapshots.LockWaitTooLong:
        return None


class _Offers(threading.local):
    def __init__(self) -> None:
        self.stack: list[Inline | None] = []


_offers = _Offers()


def current_offer() -> Inline | None:
    """The inline offer of the decision this thread is making (None: no worker offered one).
    An execution's end starts its flow's next queued execution after commit
    (`lifecycle.release_queue`); with the offer, the worker that ended the first runs the next
    one's first task itself instead of publishing it and waiting for a message."""
    return _offers.stack[-1] if _offers.stack else None


def _process(execution_id: str, event: Event, services: Any, inline: Inline | None,
             wait: bool | float) -> ExecutionData | None:
    _offers.stack.append(inline)
    try:
        return _decide(execution_id, event, services, inline, wait)
    finally:
        _offers.stack.pop()


def _decide(execution_id: str, event: Event, services: Any, inline: Inline | None,
            wait: bool | float) -> ExecutionData | None:
    can_skip = wait is False and bool(connection.features.has_select_for_update_skip_locked)
    timeout = float(wait) if not isinstance(wait, bool) else None
    with transaction.atomic():
        loaded = snapshots.lock_and_load(execution_id, can_skip, timeout)
        if loaded is None:
            return None
        row = loaded.row
        data = to_data(row, [])
        data.task_runs = loaded.runs  # the cached view's own list: its index stays valid
        if loaded.index is not None:
            data.adopt(loaded.index)
        flow = compiled(row.namespace, row.flow_id, row.flow_revision)
        the_env = env(services or ports.render_services.call(row))
        effects = results.fold(flow, data, loaded.pending, the_env) if loaded.pending else Effects()
        pending = _conclude(row, flow, data, combine(effects, event(flow, data, the_env)), the_env, inline, loaded)
        if inline is not None and inline.claimed is not None:
            inline.data = data
        # Whoever skipped this lock meanwhile left an outcome for the holder: look after commit
        # (unless the look was made already, right after the COMMIT, and found nothing).
        if pending is not False:
            transaction.on_commit(lambda: drain(execution_id))
    return data


def process_new(row: Execution, event: Event, *, last: bool = False) -> ExecutionData:
    """`process` for an execution this transaction creates: `row` is not saved yet, and is
    inserted with the decision's result. Nobody else can see the execution before the commit,
    so there is nothing to lock, load or drain (one transaction instead of three). Without a
    savepoint: the caller's transaction creates the row, and a failure here fails it whole.
    `last`: the caller's transaction (the outermost one) writes nothing after this, so its
    COMMIT may go with the decision's writes (`_commits_with_writes`)."""
    with transaction.atomic(savepoint=False):
        data = to_data(row, [])
        flow = compiled(row.namespace, row.flow_id, row.flow_revision)
        the_env = env(ports.render_services.call(row))
        _conclude(row, flow, data, event(flow, data, the_env), the_env, None, None, last=last)
    return data


def _conclude(row: Execution, flow: CompiledFlow, data: ExecutionData, effects: Effects, the_env: Env,
              inline: Inline | None, loaded: snapshots.Loaded | None, *, last: bool = False) -> bool | None:
    """The end of every decision: child executions, the writes, and what runs after commit.
    Returns whether outcomes were pending once the decision committed (None: not looked at)."""
    for _ in range(100):  # child executions may fail at creation and re-advance the parent
        more = ports.start_subflows.call(row, flow, data, effects, the_env)
        if more is None:
            break
        effects = combine(effects, more)  # start_subflows took the requests it served
    commit = (loaded is not None and _commits_with_writes()) or (last and _commits_with_writes(depth=2))
    # A new execution (no `loaded`) is seen by nobody before this commit: no outcome can wait on it.
    # An execution's end looks for Flow triggers once committed: the key of the flows' state
    # they are cached under is read in the same pipeline, right after the COMMIT.
    writes = runrows.Writes(commit=commit, then_pending=data.id if commit and loaded is not None else None,
                            then_read=flow_services.FLOWS_CHANGED if commit and effects.ended else None)
    to_dispatch = _save(row, data, effects, inline, folded=set(loaded.pending) if loaded else None,
                        decided_at=the_env.now.isoformat(), writes=writes)
    if loaded is not None:
        snapshots.keep_after_commit(data.id, data.task_runs, loaded, data.indexed())
    ports.after_commit.call(row, data, effects, writes.read)
    transaction.on_commit(lambda: ports.live_row_changed.call(row))  # live views (apps/live)
    if to_dispatch:
        attempts = [(run, run.attempt_count) for run in to_dispatch]
        transaction.on_commit(lambda: dispatch.publish_many(data, attempts))
    return writes.pending


def _commits_with_writes(depth: int = 1) -> bool:
    """Whether a decision may send its transaction's COMMIT with its last writes (one round trip
    less while the execution's lock is held): only on PostgreSQL, and only when the decision's
    transaction is the outermost one (`process` not called inside another `atomic`, whose own
    writes would be committed with it), or (`depth=2`, `process_new(last=True)`) sits directly
    in the outermost one without a savepoint and is its caller's last write. Django's commit at the end of the block then finds the
    transaction ended and sends nothing (psycopg's `commit()` on an idle connection), and runs
    the on-commit callbacks as usual; everything after the writes only registers callbacks."""
    # An `atomic(savepoint=False)` inside the outermost block leaves None in `savepoint_ids`:
    # only a real savepoint (an id) means an enclosing block may still roll back on its own.
    return (snapshots.enabled() and len(connection.atomic_blocks) == depth and not any(connection.savepoint_ids)
            and not connection.needs_rollback)


def drain(execution_id: str, *, batched: bool = False) -> None:
    """Apply outcomes left on the execution's task runs, unless someone holds it (they will).
    Outcomes a worker left in a batch are its own to decide on (docs/adr/0031): they are looked
    for only with `batched` (that worker's own late look), and folded by any decision anyway."""
    unbatched = "" if batched or not snapshots.enabled() else " AND NOT result ? 'batched'"
    for _ in range(1000):
        with snapshots.hot_cursor() as cursor:  # the hot path's most frequent query: no ORM
            cursor.execute(f"SELECT 1 FROM {snapshots.pending_results()} WHERE execution_id = %s "
                           f"AND result IS NOT NULL{unbatched} LIMIT 1", [execution_id])
            if cursor.fetchone() is None:
                return
        if process(execution_id, _nothing, wait=False) is None:
            return


def _nothing(flow: CompiledFlow, data: ExecutionData, env: Env) -> Effects:
    from apps.engine import planner

    return planner.advance(flow, data, env)


def combine(first: Effects, second: Effects) -> Effects:
    """Two sets of effects as one: every list concatenated, in order."""
    return Effects(
        delays=first.delays + second.delays, subflows=first.subflows + second.subflows,
        logs=first.logs + second.logs, ended=first.ended or second.ended,
        kill_children=first.kill_children or second.kill_children,
        new_execution=second.new_execution or first.new_execution,
    )


def now() -> datetime:
    return timezone.now()


def lease_seconds() -> float:
    return float(getattr(settings, "WEIR_LEASE_SECONDS", 30))


def lease_deadline() -> datetime:
    return timezone.now() + timedelta(seconds=lease_seconds())
