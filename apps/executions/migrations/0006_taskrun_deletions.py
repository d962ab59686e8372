"""`weir_run_deletions`: per execution, how many times task-run rows were deleted, kept by
triggers, so a decision sees a deletion (a restart drops runs) by reading one number instead of
counting the execution's rows on every read (apps/executions/runtime/snapshots.py, docs/adr/0027).

A table of its own rather than a column of `weir_execution`: Django never writes it (a full
`Execution.save()` would put back a stale count), and a later SQLite migration that rebuilds
`weir_execution` cannot drop it from under the triggers. An execution without a row has had no
deletion (0). Deleting the execution drops its row.

- PostgreSQL: one statement-level trigger (its transition table holds the deleted rows), so a
  delete of many runs bumps each execution once.
- SQLite: a row-level trigger (SQLite has no statement-level ones).
"""

from typing import Any

from django.db import migrations

TABLE = "weir_run_deletions"
RUN_TRIGGER = "weir_task_run_deleted"
EXECUTION_TRIGGER = "weir_execution_deleted"


def forwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = (
            f"CREATE TABLE IF NOT EXISTS {TABLE} (execution_id varchar(32) PRIMARY KEY, n bigint NOT NULL)",
            f"CREATE OR REPLACE FUNCTION {RUN_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {TABLE} AS d (execution_id, n) SELECT DISTINCT execution_id, 1 FROM gone "
            "ON CONFLICT (execution_id) DO UPDATE SET n = d.n + 1; RETURN NULL; END $$",
            f"CREATE TRIGGER {RUN_TRIGGER} AFTER DELETE ON weir_task_run REFERENCING OLD TABLE AS gone "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {RUN_TRIGGER}()",
            f"CREATE OR REPLACE FUNCTION {EXECUTION_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"DELETE FROM {TABLE} WHERE execution_id = OLD.id; RETURN NULL; END $$",
            f"CREATE TRIGGER {EXECUTION_TRIGGER} AFTER DELETE ON weir_execution "
            f"FOR EACH ROW EXECUTE FUNCTION {EXECUTION_TRIGGER}()",
        )
    elif vendor == "sqlite":
        statements = (
            f"CREATE TABLE IF NOT EXISTS {TABLE} (execution_id varchar(32) PRIMARY KEY, n integer NOT NULL)",
            f"CREATE TRIGGER IF NOT EXISTS {RUN_TRIGGER} AFTER DELETE ON weir_task_run BEGIN "
            f"INSERT INTO {TABLE} (execution_id, n) VALUES (OLD.execution_id, 1) "
            "ON CONFLICT (execution_id) DO UPDATE SET n = n + 1; END",
            f"CREATE TRIGGER IF NOT EXISTS {EXECUTION_TRIGGER} AFTER DELETE ON weir_execution BEGIN "
            f"DELETE FROM {TABLE} WHERE execution_id = OLD.id; END",
        )
    else:
        return
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {RUN_TRIGGER} ON weir_task_run")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {EXECUTION_TRIGGER} ON weir_execution")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {RUN_TRIGGER}()")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {EXECUTION_TRIGGER}()")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {RUN_TRIGGER}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {EXECUTION_TRIGGER}")
    else:
        return
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0005_taskrun_rev"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
