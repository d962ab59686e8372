"""Log lines written while a task is still running (script output), not with its result.

Lines get their per-execution `seq` from one atomic `UPDATE … SET log_seq = log_seq + n
RETURNING`: a decision holding the execution lock makes the update wait, and a decision reads
`log_seq` under that lock, so the numbering stays contiguous without this path ever taking the
lock itself. The live views are told after commit, as for every other line.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from apps.executions.models import Execution, LogLine
from apps.live import publish as live_publish


def append_now(execution_id: str, task_run_id: str, task_id: str, attempt: int | None,
               lines: list[tuple[str, str]]) -> None:
    """Persist `lines` (level, message) at once, masked, after every line written so far."""
    if not lines:
        return
    from apps.executions.secrets_mask import mask

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
        LogLine.objects.bulk_create([
            LogLine(execution_id=execution_id, seq=first + i, task_run_id=task_run_id, task_id=task_id,
                    attempt=attempt, level=level, message=mask(message), timestamp=now)
            for i, (level, message) in enumerate(lines)
        ], batch_size=2000)
        transaction.on_commit(lambda: live_publish.execution_changed(
            execution_id, namespace, flow_id, state, int(last), start_date=start_date, end_date=end_date))
