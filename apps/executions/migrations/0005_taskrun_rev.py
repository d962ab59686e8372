"""`weir_task_run.rev`, the triggers that keep it and an index on (execution_id, rev), so a
decision asks the index for the rows written since its previous read of the same execution
instead of visiting all of them (apps/executions/snapshots.py).

- PostgreSQL: `rev` is the writing transaction's id (`txid_current()`, 64-bit), i.e. `xmin`
  where an index can find it; a read takes the rows with `rev` at or above the horizon of the
  previous read (the oldest transaction then running).
- SQLite: every INSERT or UPDATE bumps a one-row counter and stamps the row with it; a
  decision holds the database's write lock (transactions are IMMEDIATE), so rows stamped above
  the counter it read last time are exactly those written since.
"""

from typing import Any

from django.db import migrations, models

CLOCK = "weir_task_run_clock"
TRIGGERS = ("weir_task_run_rev_insert", "weir_task_run_rev_update")
INDEX = "weir_task_run_rev_idx"


def _stamp() -> str:
    return (f"UPDATE {CLOCK} SET n = n + 1 WHERE id = 1; "
            f"UPDATE weir_task_run SET rev = (SELECT n FROM {CLOCK} WHERE id = 1) WHERE rowid = NEW.rowid;")


PG_FUNCTION = "weir_task_run_rev"


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for sql in (
            f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.rev := txid_current(); RETURN NEW; END $$",
            f"CREATE TRIGGER {TRIGGERS[1]} BEFORE INSERT OR UPDATE ON weir_task_run "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON weir_task_run (execution_id, rev)",
        ):
            schema_editor.execute(sql)
        return
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
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGERS[1]} ON weir_task_run")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        return
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
                "When the row was last written, set by triggers (migration 0005): the writing transaction's "
                "id on PostgreSQL, a database-wide write counter on SQLite. A decision re-reads only rows "
                "written since its last look (apps/executions/snapshots.py).")),
        ),
        migrations.RunPython(forwards, backwards),
    ]
