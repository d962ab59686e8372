"""Writing task-run rows on the decision hot path with plain SQL.

Every decision inserts the runs it created and updates the ones it changed. Through the ORM,
building a model instance, its field conversions and the query for one row cost more than the
decision itself, so these two statements are written here once, for any backend (JSON columns
are sent as JSON text, datetimes through the backend's own adapter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import connection

_INSERT_COLUMNS = ("id", "execution_id", "task_id", "parent_task_run_id", "value", "iteration", "state",
                   "history", "attempts", "attempt_no", "outputs", "plan", "seq", "start_date", "end_date",
                   "queue", "dispatched_at", "lease_until", "worker", "result")
_JSON_COLUMNS = frozenset({"history", "attempts", "outputs", "plan", "result"})
_TIME_COLUMNS = frozenset({"dispatched_at", "lease_until"})
DEFAULTS: Mapping[str, Any] = {"queue": "weir.tasks", "dispatched_at": None, "lease_until": None, "worker": "",
                               "result": None}


def _param(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return None if value is None else json.dumps(value)
    if column in _TIME_COLUMNS and isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


_CLAIMED = " AND state IN ('CREATED', 'RESTARTED') AND attempt_no = %s"
"""A claim's condition: the run is still unclaimed at the attempt the claimer saw (a run held for
its execution's workers can also be claimed by a worker whose outcome went to the lock holder,
and exactly one of them may run it: docs/adr/0009)."""
_CLAIMED_HELD = _CLAIMED + " AND plan ? 'held'"
"""The claim of a run held for the execution's workers: it must still be held. A worker at the
end of its budget hands a held run off without the lock (`worker._hand_off_held`: published,
still CREATED at the same attempt), and a decision that had picked that run must not take it
from under its message, which would then find it taken and end that worker's chain of runs."""


def _statement(run_id: str, fields: Mapping[str, Any], condition: str, extra: list[Any]) -> tuple[str, list[Any]]:
    """`UPDATE` setting `fields` (column → value) on one task run. A decision writes one of a few
    column sets, so on PostgreSQL each becomes a prepared statement with server-side parameters
    (no quoting of JSON text in Python either)."""
    names = list(fields)
    assignments = ", ".join(f"{name} = %s" for name in names)
    return (f"UPDATE weir_task_run SET {assignments} WHERE id = %s{condition}",
            [*(_param(name, fields[name]) for name in names), run_id, *extra])


_PENDING = ("SELECT 1 FROM weir_task_run WHERE execution_id = %s AND result IS NOT NULL AND NOT result ? 'batched' "
            "LIMIT 1")
"""Outcomes left for the lock holder. A worker that left outcomes in a batch (docs/adr/0031)
decides on them itself: the holder leaves those to it instead of deciding again for them."""


class Writes:
    """A decision's writes (the execution row, log lines, task-run updates and inserts), sent
    together: on PostgreSQL in one pipeline, so the execution's lock is held for one round trip
    of writing instead of one per statement; elsewhere one by one, in the order they were added.
    At most one of them is a claim (`claim`), whose outcome `send` returns."""

    def __init__(self, *, commit: bool = False, then_pending: str | None = None, then_read: str | None = None
                 ) -> None:
        self._statements: list[tuple[str, list[Any], bool]] = []
        self._claim: int | None = None
        self._commit = commit
        """On PostgreSQL, send the transaction's COMMIT after the statements, in the same pipeline."""
        self._then_pending = then_pending
        """With `commit`: an execution id whose pending outcomes are looked for after the COMMIT."""
        self.pending: bool | None = None
        """Whether that execution had outcomes waiting once this transaction committed (None:
        not looked at)."""
        self._then_read = then_read
        """With `commit`: a query without parameters sent after the COMMIT (and the look), in
        the same pipeline: what the caller would otherwise ask right after the commit, one
        round trip later."""
        self.read: tuple[Any, ...] | None = None
        """The first row of `then_read`'s answer (None: not sent)."""

    def add(self, sql: str, params: list[Any], *, many: bool = False) -> None:
        """A statement (with `many`, run once per parameter list in `params`)."""
        if not many or params:
            self._statements.append((sql, params, many))

    def update(self, run_id: str, fields: Mapping[str, Any]) -> None:
        self.add(*_statement(run_id, fields, "", []))

    def claim(self, run_id: str, fields: Mapping[str, Any], attempt: int, *, held: bool = False) -> None:
        """The update of a run another worker may take meanwhile: it applies only if the run is
        still unclaimed at `attempt` (and, with `held`, still held: `_CLAIMED_HELD`)."""
        self._claim = len(self._statements)
        self.add(*_statement(run_id, fields, _CLAIMED_HELD if held else _CLAIMED, [attempt]))

    def insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert task runs; each row maps every column except those in DEFAULTS, which are optional."""
        if rows:
            columns = ", ".join(_INSERT_COLUMNS)
            marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
            self.add(f"INSERT INTO weir_task_run ({columns}) VALUES ({marks})",
                     [[_param(c, row[c] if c in row else DEFAULTS[c]) for c in _INSERT_COLUMNS] for row in rows],
                     many=True)

    def send(self) -> bool:
        """Run the statements; whether the claim (if any) took its run. With `commit` (on
        PostgreSQL) the transaction's COMMIT is sent in the same pipeline, after them, and then
        the look for pending outcomes (a statement of its own, after the COMMIT: it sees every
        outcome a worker left while this transaction held the execution's lock)."""
        from apps.executions.runtime.snapshots import enabled

        statements, self._statements = self._statements, []
        looks_at = reads_at = None  # where the look and the read stand among the statements
        if self._commit and enabled():
            statements.append(("COMMIT", [], False))
            if self._then_pending is not None:
                looks_at = len(statements)
                statements.append((_PENDING, [self._then_pending], False))
            if self._then_read is not None:
                reads_at = len(statements)
                statements.append((self._then_read, [], False))
        if not statements:
            return True
        counts: list[int] = []
        if not enabled():
            for sql, params, many in statements:
                with connection.cursor() as cursor:
                    if many:
                        cursor.executemany(sql, params)
                    else:
                        cursor.execute(sql, params)
                    counts.append(cursor.rowcount)
        else:
            import psycopg

            connection.ensure_connection()
            conn = connection.connection
            # One cursor for the statements whose answer is not read, one each for the claim and
            # the look: a cursor keeps its last statement's answer, and making one costs more
            # than the statement's own work on the client.
            shared = psycopg.Cursor(conn)
            watched = {index: psycopg.Cursor(conn) for index in (self._claim, looks_at, reads_at) if index is not None}
            try:
                with conn.pipeline():
                    for index, (sql, params, many) in enumerate(statements):
                        each = watched.get(index, shared)
                        if many:
                            each.executemany(sql, params)
                        elif params or index == reads_at:
                            each.execute(sql, params, prepare=True)
                        else:
                            each.execute(sql)
                if looks_at is not None:
                    self.pending = watched[looks_at].fetchone() is not None
                if reads_at is not None:
                    found = watched[reads_at].fetchone()
                    self.read = tuple(found) if found is not None else None
                if self._claim is not None:
                    return bool(watched[self._claim].rowcount)
            finally:
                shared.close()
                for each in watched.values():
                    each.close()
            return True
        return self._claim is None or bool(counts[self._claim])
