"""Task runs of an execution, read once and then kept up to date from row versions.

Every worker result locks its execution and hands the planner all of its task runs. On a wide
execution (a Parallel of 100 tasks) reading and decoding every row on every result is most of
the time the lock is held, so results queue up behind it. PostgreSQL gives each row version an
`xmin` (the writing transaction), so a short query of `(id, xmin)` tells which rows changed since
this thread last saw them, and only those are read again (docs/adr/0007).

The cache is per thread: the objects a decision mutates are never shared with another thread
(the standalone worker runs tasks on a thread pool). An entry is taken out for the length of a
decision and put back only when its transaction commits, so a rolled-back decision leaves
nothing behind. On databases without `xmin` (SQLite) every decision reads all rows.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from apps.engine.model import TaskRunData
from apps.engine.states import State
from apps.executions.models import Execution, TaskRun
from apps.executions.results import Outcome

MAX_ENTRIES = 64


class _Entry:
    __slots__ = ("runs", "versions")

    def __init__(self, runs: list[TaskRunData], versions: dict[str, str]) -> None:
        self.runs = runs
        self.versions = versions


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


def hot_cursor() -> Any:
    """`_Prepared` on PostgreSQL, Django's own cursor elsewhere."""
    return _Prepared() if enabled() else connection.cursor()


@dataclass
class Loaded:
    row: Execution
    runs: list[TaskRunData]
    versions: dict[str, str] | None
    """Row versions the runs were read at (None where the database has none)."""
    pending: dict[str, Outcome]
    """Attempt outcomes workers left on their rows (apps/executions/results.py)."""
    xid: str = ""
    """This transaction's id, the `xmin` of every row it writes."""


# Two statements on PostgreSQL. First lock the execution and learn this transaction's id. Then,
# in a new statement (so with a snapshot taken after the lock was granted: a statement that
# waited for the lock would otherwise read the task runs as they were before the previous holder
# committed), every task run's version and pending outcome, with the whole row only where the
# cached copy (the `{id: version}` object) is missing or stale.
_LOCK = ("SELECT row_to_json(e), (txid_current() %% 4294967296)::text FROM weir_execution e "
         "WHERE e.id = %s FOR UPDATE {skip}")
_RUNS = """
SELECT coalesce(json_agg(json_build_array(t.id, t.xmin::text, t.result,
           CASE WHEN c.v IS DISTINCT FROM t.xmin::text THEN row_to_json(t) END)), '[]'::json)
  FROM weir_task_run t LEFT JOIN json_each_text(%s::json) AS c(id, v) ON c.id = t.id
 WHERE t.execution_id = %s
"""


def lock_and_load(execution_id: str, skip_locked: bool) -> Loaded | None:
    """Lock the execution row and read what a decision needs: None when the execution does not
    exist or (with `skip_locked`) another transaction holds it."""
    from apps.executions.runner import load_runs

    if not enabled():
        row = Execution.objects.select_for_update(skip_locked=skip_locked).filter(id=execution_id).first()
        if row is None:
            return None
        raw = dict(TaskRun.objects.filter(execution_id=execution_id, result__isnull=False)
                   .values_list("id", "result"))
        return Loaded(row, load_runs(execution_id), None, _outcomes(raw))
    with hot_cursor() as cursor:
        cursor.execute(_LOCK.format(skip="SKIP LOCKED" if skip_locked else ""), [execution_id])
        found = cursor.fetchone()
        if found is None:
            return None
        row, xid = execution_from_json(as_json(found[0])), str(found[1])
        entry = _local.entries.pop(execution_id, None)
        cached = entry.versions if entry is not None else {}
        cursor.execute(_RUNS, [json.dumps(cached), execution_id])
        items = as_json(cursor.fetchone()[0])
    versions = {run_id: version for run_id, version, _, _ in items}
    pending = _outcomes({run_id: result for run_id, _, result, _ in items if result is not None})
    fresh = {run_id: run_from_json(full) for run_id, _, _, full in items if full is not None}
    kept = {run.id: run for run in (entry.runs if entry is not None else []) if run.id in versions}
    kept.update(fresh)
    return Loaded(row, sorted(kept.values(), key=lambda run: run.seq), versions, pending, xid)


_DATETIMES = frozenset(f.attname for f in Execution._meta.concrete_fields if f.get_internal_type() == "DateTimeField")


def execution_from_json(raw: dict[str, Any]) -> Execution:
    """An Execution read as `row_to_json` (as `Model.from_db` would build it, without the ORM's
    per-query set-up, which costs more than the rest of a decision's reading)."""
    values = {f.attname: raw.get(f.column) for f in Execution._meta.concrete_fields}
    for name in _DATETIMES:
        text = values[name]
        if isinstance(text, str):
            values[name] = parse_datetime(text)
    row = Execution(**values)
    row._state.adding = False
    row._state.db = connection.alias
    return row


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


def keep_after_commit(execution_id: str, runs: list[TaskRunData], loaded: Loaded, written: set[str]) -> None:
    """Remember `runs` (the decision's result) once the transaction commits; the rows this
    transaction wrote carry its transaction id as `xmin`."""
    if loaded.versions is None:
        return
    versions = {**loaded.versions, **dict.fromkeys(written, loaded.xid)}
    entry = _Entry(list(runs), versions)

    def keep() -> None:
        entries = _local.entries
        entries[execution_id] = entry
        entries.move_to_end(execution_id)
        while len(entries) > MAX_ENTRIES:
            entries.popitem(last=False)

    transaction.on_commit(keep)


def forget(execution_id: str) -> None:
    _local.entries.pop(execution_id, None)
