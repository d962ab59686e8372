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

from apps.engine.model import TaskRunData
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


@dataclass
class Loaded:
    runs: list[TaskRunData]
    versions: dict[str, str] | None
    """Row versions the runs were read at (None where the database has none)."""
    pending: dict[str, Outcome]
    """Attempt outcomes workers left on their rows (apps/executions/results.py)."""


def load(execution_id: str) -> Loaded:
    """The execution's task runs in `seq` order, their versions and the pending outcomes.
    Call with the execution row locked."""
    from apps.executions.models import TaskRun
    from apps.executions.runner import load_runs

    if not enabled():
        raw = dict(TaskRun.objects.filter(execution_id=execution_id, result__isnull=False)
                   .values_list("id", "result"))
        return Loaded(load_runs(execution_id), None, _outcomes(raw))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text, result FROM weir_task_run WHERE execution_id = %s", [execution_id])
        rows = cursor.fetchall()
    versions = {run_id: version for run_id, version, _ in rows}
    pending = _outcomes({run_id: result for run_id, _, result in rows if result is not None})
    entry = _local.entries.pop(execution_id, None)
    if entry is None:
        return Loaded(load_runs(execution_id), versions, pending)
    kept = {run.id: run for run in entry.runs if run.id in versions and entry.versions.get(run.id) == versions[run.id]}
    stale = [run_id for run_id in versions if run_id not in kept]
    if stale:
        for run in load_runs(execution_id, only_ids=stale):
            kept[run.id] = run
    return Loaded(sorted(kept.values(), key=lambda run: run.seq), versions, pending)


def _outcomes(raw: dict[str, Any]) -> dict[str, Outcome]:
    return {run_id: Outcome.from_json(json.loads(value) if isinstance(value, str) else value)
            for run_id, value in raw.items()}


def keep_after_commit(execution_id: str, runs: list[TaskRunData], versions: dict[str, str] | None,
                      written: set[str]) -> None:
    """Remember `runs` (the decision's result) once the transaction commits; the rows this
    transaction wrote carry its transaction id as `xmin`."""
    if versions is None:
        return
    if written:
        with connection.cursor() as cursor:
            cursor.execute("SELECT (txid_current() % 4294967296)::text")
            xid = str(cursor.fetchone()[0])
        versions = {**versions, **dict.fromkeys(written, xid)}
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
