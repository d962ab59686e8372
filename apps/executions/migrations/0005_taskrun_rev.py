"""`weir_task_run.rev` and, on SQLite, the triggers that keep it (apps/executions/snapshots.py).

Every INSERT or UPDATE of a task run bumps a one-row counter and stamps the row with it, so a
decision holding the database's write lock (SQLite transactions are IMMEDIATE) can ask for the
rows written since its previous read of the same execution instead of all of them. PostgreSQL
needs none of this (a row's `xmin` says when it was written), so the column stays NULL there.
"""

from typing import Any

from django.db import migrations, models

CLOCK = "weir_task_run_clock"
TRIGGERS = ("weir_task_run_rev_insert", "weir_task_run_rev_update")
INDEX = "weir_task_run_rev_idx"


def _stamp() -> str:
    return (f"UPDATE {CLOCK} SET n = n + 1 WHERE id = 1; "
            f"UPDATE weir_task_run SET rev = (SELECT n FROM {CLOCK} WHERE id = 1) WHERE rowid = NEW.rowid;")


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in (
        f"CREATE TABLE IF NOT EXISTS {CLOCK} (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
        f"INSERT OR IGNORE INTO {CLOCK} (id, n) VALUES (1, 0)",
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON weir_task_run (execution_id, rev)",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[0]} AFTER INSERT ON weir_task_run BEGIN {_stamp()} END",
        # The stamp itself changes `rev`: the WHEN clause keeps it from firing the trigger again.
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[1]} AFTER UPDATE ON weir_task_run "
        f"WHEN NEW.rev IS OLD.rev BEGIN {_stamp()} END",
    ):
        schema_editor.execute(sql)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {CLOCK}")


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0004_log_line_one_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskrun",
            name="rev",
            field=models.BigIntegerField(blank=True, editable=False, null=True, help_text=(
                "SQLite only: the database-wide write counter when the row was last inserted or updated, set "
                "by triggers (migration 0005), so a decision re-reads only rows written since its last look "
                "(apps/executions/snapshots.py). NULL on PostgreSQL, where the row's xmin serves.")),
        ),
        migrations.RunPython(forwards, backwards),
    ]
