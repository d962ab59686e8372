"""Log lines written while a task is still running (script output), not with its result.

Lines get their per-execution `seq` from one atomic `UPDATE … SET log_seq = log_seq + n
RETURNING`: a decision holding the execution lock makes the update wait, and a decision reads
`log_seq` under that lock, so the numbering stays contiguous without this path ever taking the
lock itself. The live views are told after commit, as for every other line.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.executions.models import Execution, LogLine
from apps.executions.runtime import ports

COLUMNS = ("execution_id", "seq", "task_run_id", "task_id", "attempt", "level", "message", "timestamp")


def append_now(execution_id: str, task_run_id: str, task_id: str, attempt: int | None,
               lines: list[tuple[str, str]]) -> None:
    """Persist `lines` (level, message) at once, masked, after every line written so far."""
    if not lines:
        return
    from apps.secrets.masking import mask

    n = len(lines)
    table = Execution._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET log_seq = log_seq + %s WHERE id = %s "
                           "RETURNING log_seq, namespace, flow_id, state, start_date, end_date",
                           [n, execution_id])
            found = cursor.fetchone()
        if found is None:
            return
        last, namespace, flow_id, state, start_date, end_date = found
        first = int(last) - n + 1
        now = timezone.now()
        rows = [(execution_id, first + i, task_run_id, task_id, attempt, level, mask(message), now)
                for i, (level, message) in enumerate(lines)]
        _insert(rows)
        transaction.on_commit(lambda: ports.live_execution_changed.call(
            execution_id, namespace, flow_id, state, int(last), start_date=start_date, end_date=end_date))


def _insert(rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL (a script may print 100 000 lines: an INSERT per batch through the
    ORM costs several times more), one executemany elsewhere."""
    table = LogLine._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
