"""Task runs of an execution, read once and then kept up to date by transaction horizon.

Every worker result locks its execution and hands the planner all of its task runs. On a wide
execution (a Parallel of 100 tasks) reading and decoding every row on every result is most of
the time the lock is held, so results queue up behind it. Instead each worker thread keeps its
last view of an execution with the horizon of the snapshot it was read at (the oldest
transaction still running then: every older one had ended, and what it wrote was seen). The
next read asks only for rows written by transactions at or after that horizon
(`age(xmin)`, wraparound-safe), plus those holding a pending outcome: on a 100-wide fan-out
that is a handful of rows instead of all of them (docs/adr/0007).

A deleted row (a restart) cannot show up as a change: triggers count, per execution, the
deletions of its task runs (migration 0006, docs/adr/0027), and a count that moved since the
cached view means a full read. A database without those triggers counts the rows instead.

The cache is per thread: the objects a decision mutates are never shared with another thread
(the standalone worker runs tasks on a thread pool). An entry is taken out for the length of a
decision and put back only when its transaction commits, so a rolled-back decision leaves
nothing behind. On databases without `xmin` (SQLite) every decision reads all rows.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from apps.engine.model import RunIndex, TaskRunData
from apps.engine.states import State
from apps.executions.models import Execution
from apps.executions.runtime import ports
from apps.executions.runtime.results import Outcome

MAX_ENTRIES = 64


class _Entry:
    __slots__ = ("deletions", "horizon", "index", "runs")

    def __init__(self, runs: list[TaskRunData], horizon: int, index: RunIndex | None = None,
                 deletions: int | None = None) -> None:
        self.runs = runs
        self.horizon = horizon
        """txid (64-bit) of the oldest transaction running when `runs` were read (SQLite: the
        `rev` counter)."""
        self.index = index
        """The lookups over `runs` (engine `RunIndex`), updated in place by the next read instead of
        being rebuilt: with it a decision's reading costs what changed, not the execution's size."""
        self.deletions = deletions
        """The execution's deletion count (`weir_run_deletions`) when `runs` were read; None
        where the database has no deletion triggers."""


class _Local(threading.local):
    def __init__(self) -> None:
        self.entries: OrderedDict[str, _Entry] = OrderedDict()


_local = _Local()


def enabled() -> bool:
    return connection.vendor == "postgresql"


class _Prepared:
    """A psycopg cursor with server-side binding whose statements are prepared: the hot path's
    few fixed statements are then planned once per connection instead of on every decision."""

    def __init__(self) -> None:
        import psycopg

        connection.ensure_connection()
        self._cursor = psycopg.Cursor(connection.connection)

    def __enter__(self) -> _Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()

    def execute(self, sql: str, params: list[Any]) -> None:
        self._cursor.execute(sql, params, prepare=True)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


def hot_cursor() -> Any:
    """`_Prepared` on PostgreSQL, Django's own cursor elsewhere."""
    return _Prepared() if enabled() else connection.cursor()


@dataclass
class Loaded:
    row: Execution
    runs: list[TaskRunData]
    horizon: int | None
    """The read's horizon (None where the database has no transaction ids)."""
    pending: dict[str, Outcome]
    """Attempt outcomes workers left on their rows (apps/executions/runtime/results.py)."""
    index: RunIndex | None = None
    """Lookups over `runs` carried over from the cached view (ExecutionData.adopt)."""
    deletions: int | None = None
    """The execution's task-run deletion count at the read (None without the triggers)."""


# Two statements on PostgreSQL, sent together in one round trip (pipeline mode, with the
# transaction's BEGIN). First lock the execution, which gives the transaction its id. Then, in a
# new statement (so with a snapshot taken after the lock was granted: a statement that waited
# for the lock would otherwise read the task runs as they were before the previous holder
# committed), the number of runs, the snapshot's horizon, and the rows changed since the cached
# view's horizon: `age(xmin)` counts from this transaction's id, so a row is newer than the
# horizon when its age is at most `txid - horizon`. When the lock was skipped the transaction
# has no id (`txid_current_if_assigned()` is NULL) and the answer is thrown away.
_LOCK = "SELECT row_to_json(e) FROM weir_execution e WHERE e.id = %s FOR UPDATE {skip}"
# With the `rev` trigger (migration 0005) a row carries the id of the transaction that last wrote
# it, indexed with its execution: the rows at or above the cached view's horizon come from the
# index, so the read costs what changed, not the execution's size. The outcomes workers left are
# among them: a row's outcome is written by a transaction that was either finished before the
# previous read (which then saw it, and its decision cleared it) or still running or not begun
# (so its id, the row's `rev`, is at or above that read's horizon). They are not looked for apart:
# `result IS NOT NULL` named beside the execution let the planner answer it, once statistics
# were taken mid-run, from the (execution_id, rev) index by visiting every run of a wide
# execution (8 ms per decision at 10 000 runs) instead of from the partial index. A deletion
# (a restart) is seen through the execution's count of deletions, which triggers keep
# (migration 0006): one row looked up by its key instead of counting the execution's rows,
# which grew with the execution. The `_COUNTED` statements are the same
# reads for a database without the deletion triggers: they count the rows.
_DELETIONS = "(SELECT coalesce(max(n), 0) FROM weir_run_deletions WHERE execution_id = %s)"
_CHANGED = """coalesce(json_agg(row_to_json(t)), '[]'::json)
  FROM weir_task_run t WHERE t.execution_id = %s AND t.rev >= %s
"""
_RUNS_ALL_TRACKED = f"""
SELECT {_DELETIONS}, txid_snapshot_xmin(txid_current_snapshot()), coalesce(json_agg(row_to_json(t)), '[]'::json)
  FROM weir_task_run t WHERE t.execution_id = %s
"""
_RUNS_SINCE_TRACKED = f"SELECT {_DELETIONS}, txid_snapshot_xmin(txid_current_snapshot()), {_CHANGED}"
_RUNS_ALL = """
SELECT count(*), txid_snapshot_xmin(txid_current_snapshot()), coalesce(json_agg(row_to_json(t)), '[]'::json)
  FROM weir_task_run t WHERE t.execution_id = %s
"""
_RUNS_SINCE = f"""
SELECT (SELECT count(*) FROM weir_task_run WHERE execution_id = %s), txid_snapshot_xmin(txid_current_snapshot()),
       {_CHANGED}"""
# Without the trigger: every row's xmin is looked at, and the rows are counted to see deletions.
_RUNS = """
SELECT count(*), txid_snapshot_xmin(txid_current_snapshot()),
       coalesce(json_agg(row_to_json(t)) FILTER (
         WHERE %s OR age(t.xmin) <= txid_current_if_assigned() - %s OR t.result IS NOT NULL), '[]'::json)
  FROM weir_task_run t WHERE t.execution_id = %s
"""


GENERIC_PLAN_RUNS = 500
_FEW_RUNS = " -- an execution of fewer than GENERIC_PLAN_RUNS runs"


class LockWaitTooLong(Exception):
    """The execution stayed locked longer than the decision was willing to wait."""


def lock_and_load(execution_id: str, skip_locked: bool, timeout: float | None = None) -> Loaded | None:
    """Lock the execution row and read what a decision needs: None when the execution does not
    exist or (with `skip_locked`) another transaction holds it. With `timeout` (seconds, on
    PostgreSQL) a lock held longer raises LockWaitTooLong, after the transaction is undone."""
    if not enabled():
        return _lock_and_load_sqlite(execution_id, skip_locked)
    import psycopg

    entry = _local.entries.pop(execution_id, None)
    connection.ensure_connection()
    conn = connection.connection
    tracked = _pg_rev_tracked()
    counted = _deletions_tracked()  # the first column counts deletions, else rows
    full, since = (_RUNS_ALL_TRACKED, _RUNS_SINCE_TRACKED) if counted else (_RUNS_ALL, _RUNS_SINCE)
    params: list[Any]
    if tracked and entry is None:
        statement, params = full, [execution_id] * (2 if counted else 1)
    elif tracked and entry is not None:
        statement, params = since, [execution_id, execution_id, entry.horizon]
    else:
        statement, params = _RUNS, [entry is None, entry.horizon if entry else 0, execution_id]
    with psycopg.Cursor(conn) as lock, psycopg.Cursor(conn) as read:
        try:
            with conn.pipeline():
                if timeout is not None:  # for this transaction only
                    lock.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(timeout * 1000)}ms"],
                                 prepare=True)
                lock.execute(_LOCK.format(skip="SKIP LOCKED" if skip_locked else ""), [execution_id], prepare=True)
                # On a wide execution the read of changed rows is not prepared, so it is planned for
                # its parameters every time: after a few runs PostgreSQL may switch a prepared
                # statement to a generic plan, and this one's ("rev at or above a horizon": a third of
                # the execution's rows, as far as it knows) visits every run of a wide execution
                # (9 ms of PostgreSQL per decision at 10 000 runs instead of under 1). An unnamed
                # statement is never planned generically. Below GENERIC_PLAN_RUNS that visit costs
                # less than planning (0.2 ms), so the statement is prepared, under a text of its own
                # (a prepared statement's plan is chosen from the runs it has seen).
                small = entry is None or len(entry.runs) < GENERIC_PLAN_RUNS
                read.execute(statement if entry is None or not small else statement + _FEW_RUNS, params,
                             prepare=small)
        except psycopg.errors.LockNotAvailable as error:
            if entry is not None:
                _local.entries[execution_id] = entry
            raise LockWaitTooLong(execution_id) from error
        found = lock.fetchone()
        if found is None:
            if entry is not None:
                _local.entries[execution_id] = entry
            return None
        count, horizon, changed = _counted(read)
        runs, index = _merge_entry(entry, {raw["id"]: run_from_json(raw) for raw in changed})
        counted = counted and tracked
        deleted = (entry is not None and entry.deletions != count) if counted else len(runs) != count
        if deleted:  # rows were deleted since (a restart): read them all
            if tracked:
                read.execute(full, [execution_id] * (2 if counted else 1), prepare=True)
            else:
                read.execute(_RUNS, [True, 0, execution_id], prepare=True)
            count, horizon, changed = _counted(read)
            runs, index = _merge([], changed), None
    row = execution_from_json(as_json(found[0]))
    pending = _outcomes({raw["id"]: raw["result"] for raw in changed if raw["result"] is not None})
    return Loaded(row, runs, horizon, pending, index, count if counted else None)


def _pg_rev_tracked() -> bool:
    """Whether this PostgreSQL database has the `rev` trigger (checked once per connection)."""
    return _asked_once("_weir_rev_tracked", "SELECT count(*) = 1 FROM pg_trigger WHERE tgname = "
                         "'weir_task_run_rev_update' AND tgrelid = 'weir_task_run'::regclass")


def _deletions_tracked() -> bool:
    """Whether triggers count the deletions of task runs per execution (migration 0006)."""
    if enabled():
        query = ("SELECT count(*) = 1 FROM pg_trigger WHERE tgname = 'weir_task_run_deleted' "
                 "AND tgrelid = 'weir_task_run'::regclass")
    else:
        query = "SELECT count(*) = 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'weir_task_run_deleted'"
    return _asked_once("_weir_deletions_tracked", query)


def pending_results() -> str:
    """The table to name in a query for an execution's rows that hold an outcome. SQLite, without
    statistics, answers `execution_id = ? AND result IS NOT NULL` from the (execution, seq) key
    and so visits every row of the execution; the partial index of pending outcomes holds a
    handful of rows, so it is named (when it exists: checked once per connection)."""
    if enabled():
        return "weir_task_run"
    named = _asked_once("_weir_pending_index", "SELECT count(*) = 1 FROM sqlite_master WHERE type = 'index' "
                          "AND name = 'taskrun_pending_result_idx'")
    return "weir_task_run INDEXED BY taskrun_pending_result_idx" if named else "weir_task_run"


def _asked_once(attribute: str, query: str) -> bool:
    """`query`'s answer (about the schema), asked once per database connection and remembered on
    it as `attribute`."""
    opened = id(connection.connection)
    known: tuple[int, bool] | None = getattr(connection, attribute, None)
    if known is None or known[0] != opened:
        with connection.cursor() as cursor:
            cursor.execute(query)
            known = (opened, bool(cursor.fetchone()[0]))
        setattr(connection, attribute, known)
    return known[1]


def _merge_entry(entry: _Entry | None, fresh: dict[str, TaskRunData]) -> tuple[list[TaskRunData], RunIndex | None]:
    """The cached view with `fresh` runs merged in. With the entry's index, changed runs replace
    theirs in place and new ones (usually after every cached one in `seq`) are appended: the
    cost is that of the changed rows. Anything unusual falls back to a merge by list."""
    if entry is None:
        return _merge_runs([], fresh), None
    index = entry.index
    if index is None or index.runs is not entry.runs or index.count != len(entry.runs):
        return _merge_runs(entry.runs, fresh), None
    added = [run for run in fresh.values() if run.id not in index.by_id]
    if any(not index.replace(run) for run in fresh.values() if run.id in index.by_id) \
            or any(run.seq <= index.max_seq for run in added):
        return _merge_runs(list(entry.runs), {run.id: run for run in fresh.values()}), None
    entry.runs.extend(sorted(added, key=lambda run: run.seq))
    return entry.runs, index


def _lock_and_load_sqlite(execution_id: str, skip_locked: bool) -> Loaded | None:
    """SQLite: the transaction already holds the database's write lock (IMMEDIATE), so nobody
    writes while it reads. With the `rev` triggers in place (migration 0005) the rows stamped
    after the cached view's counter are the only ones that changed; without them, all are read."""
    load_runs = ports.load_runs.call
    row = _execution_sqlite(execution_id)
    if row is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, result FROM {pending_results()} WHERE execution_id = %s AND result IS NOT NULL",
                       [execution_id])
        raw = dict(cursor.fetchall())
    if not _rev_tracked():
        return Loaded(row, load_runs(execution_id), None, _outcomes(raw))
    entry = _local.entries.pop(execution_id, None)
    counted = _deletions_tracked()
    with connection.cursor() as cursor:
        if counted:  # the execution's deletion count: one row by its key
            cursor.execute(f"SELECT n, {_DELETIONS} FROM {_CLOCK} WHERE id = 1",
                           [execution_id])
        else:  # no deletion triggers: count the rows
            cursor.execute(f"SELECT n, (SELECT count(*) FROM weir_task_run WHERE execution_id = %s) FROM {_CLOCK} "
                           "WHERE id = 1", [execution_id])
        clock, count = (int(value) for value in cursor.fetchone())
    runs: list[TaskRunData] = []
    index: RunIndex | None = None
    if entry is not None:
        fresh = {run.id: run for run in load_runs(execution_id, since_rev=entry.horizon)}
        runs, index = _merge_entry(entry, fresh)
    deleted = entry is None or (entry.deletions != count if counted else len(runs) != count)
    if deleted:  # nothing cached, or rows were deleted (a restart)
        runs, index = load_runs(execution_id), None
    return Loaded(row, runs, clock, _outcomes(raw), index, count if counted else None)


_CLOCK = "weir_task_run_clock"
EXECUTION_JSON = frozenset(f.attname for f in Execution._meta.concrete_fields if f.get_internal_type() == "JSONField")
"""The execution's JSON columns (each named as its field): decoded when read, encoded when written."""
_COLUMNS = ", ".join(f.column for f in Execution._meta.concrete_fields)


def _execution_sqlite(execution_id: str) -> Execution | None:
    """The execution row, read with plain SQL (SQLite has no row locks: the transaction holds the
    database's write lock already). Through the ORM, building the query cost more than the rest
    of a long loop's read."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_COLUMNS} FROM weir_execution WHERE id = %s", [execution_id])
        found = cursor.fetchone()
    if found is None:
        return None
    raw = {}
    for field, value in zip(Execution._meta.concrete_fields, found, strict=True):
        if field.attname in EXECUTION_JSON:
            value = as_json(value)
        elif field.get_internal_type() == "BooleanField" and value is not None:
            value = bool(value)
        raw[field.column] = value
    row = execution_from_json(raw)
    for name in _DATETIMES:  # SQLite keeps UTC datetimes without their zone
        value = getattr(row, name)
        if isinstance(value, datetime) and value.tzinfo is None:
            setattr(row, name, value.replace(tzinfo=UTC))
    return row


def _rev_tracked() -> bool:
    """Whether this SQLite database has the `rev` triggers, checked once per connection (a later
    migration that rebuilds the table would drop them; then every read is a full one)."""
    return _asked_once("_weir_rev_tracked", "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'trigger' "
                         "AND name IN ('weir_task_run_rev_insert', 'weir_task_run_rev_update')")


def _counted(cursor: Any) -> tuple[int, int, list[dict[str, Any]]]:
    count, horizon, changed = cursor.fetchone()
    return int(count), int(horizon), as_json(changed)


def _merge(cached: list[TaskRunData], changed: list[dict[str, Any]]) -> list[TaskRunData]:
    """The cached runs with the changed rows replacing or joining them, in `seq` order."""
    if not changed:
        return cached
    return _merge_runs(cached, {raw["id"]: run_from_json(raw) for raw in changed})


def _merge_runs(cached: list[TaskRunData], fresh: dict[str, TaskRunData]) -> list[TaskRunData]:
    if not fresh:
        return cached
    merged = [fresh.pop(run.id, run) for run in cached]
    if fresh:  # new runs: their seq is usually after every cached one
        merged += fresh.values()
        if any(a.seq > b.seq for a, b in itertools.pairwise(merged)):
            merged.sort(key=lambda run: run.seq)
    return merged


_DATETIMES = frozenset(f.attname for f in Execution._meta.concrete_fields if f.get_internal_type() == "DateTimeField")
_FIELD_COLUMNS = [f.column for f in Execution._meta.concrete_fields]
_FIELD_NAMES = [f.attname for f in Execution._meta.concrete_fields]
_DATETIME_POSITIONS = [i for i, f in enumerate(Execution._meta.concrete_fields)
                       if f.get_internal_type() == "DateTimeField"]


def execution_from_json(raw: dict[str, Any]) -> Execution:
    """An Execution read as `row_to_json` (as `Model.from_db` would build it, without the ORM's
    per-query set-up, which costs more than the rest of a decision's reading)."""
    values = [raw.get(column) for column in _FIELD_COLUMNS]
    for position in _DATETIME_POSITIONS:
        text = values[position]
        if isinstance(text, str):
            values[position] = parse_datetime(text)
    return Execution.from_db(connection.alias, _FIELD_NAMES, values)  # every field by position: the fast path


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def run_from_json(raw: dict[str, Any]) -> TaskRunData:
    return TaskRunData(
        id=raw["id"], task_id=raw["task_id"], parent_id=raw["parent_task_run_id"], value=raw["value"],
        iteration=raw["iteration"], state=State(raw["state"]), history=raw["history"] or [],
        attempts=raw["attempts"] or [], outputs=raw["outputs"], seq=raw["seq"], plan=raw["plan"] or {},
        start_date=raw["start_date"], end_date=raw["end_date"],
    )


def _outcomes(raw: dict[str, Any]) -> dict[str, Outcome]:
    return {run_id: Outcome.from_json(as_json(value)) for run_id, value in raw.items()}


def keep_after_commit(execution_id: str, runs: list[TaskRunData], loaded: Loaded,
                      index: RunIndex | None = None) -> None:
    """Remember `runs` (the decision's result) once the transaction commits, with the horizon
    of the read they started from: the rows this transaction wrote are newer, and will be read
    again next time, which costs a few rows and keeps one rule. `index`, when it is over
    `runs` exactly, is kept with them for the next read to update."""
    if loaded.horizon is None:
        return
    # The list itself is kept, not a copy: the decision's data (and its index) stays usable by
    # the worker for its next task, and only this thread's next decision, which comes after
    # that, takes the entry back and updates the list in place.
    if index is None or index.runs is not runs or index.count != len(runs):
        index = None
    entry = _Entry(runs, loaded.horizon, index, loaded.deletions)

    def keep() -> None:
        entries = _local.entries
        entries[execution_id] = entry
        entries.move_to_end(execution_id)
        while len(entries) > MAX_ENTRIES:
            entries.popitem(last=False)

    transaction.on_commit(keep)


def forget(execution_id: str) -> None:
    _local.entries.pop(execution_id, None)
