"""Fewer, partial task-run indexes: each write of a task run's state inserts into every index
whose predicate the new row matches (see TaskRun's docstring). On PostgreSQL Django also gives
the `id` primary key a `varchar_pattern_ops` copy for LIKE queries, which nothing here makes."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def drop_like_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'weir_task_run' "
                       "AND indexname LIKE 'weir_task_run_id_%%_like'")
        for (name,) in cursor.fetchall():
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0002_taskrun_result'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='taskrun',
            name='taskrun_lease_idx',
        ),
        migrations.RemoveIndex(
            model_name='taskrun',
            name='taskrun_dispatch_idx',
        ),
        migrations.AlterField(
            model_name='taskrun',
            name='execution',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='task_runs', to='executions.execution'),
        ),
        migrations.AddIndex(
            model_name='taskrun',
            index=models.Index(condition=models.Q(('state', 'RUNNING')), fields=['lease_until'], name='taskrun_lease_idx'),
        ),
        migrations.AddIndex(
            model_name='taskrun',
            index=models.Index(condition=models.Q(('state__in', ['CREATED', 'RESTARTED'])), fields=['dispatched_at'], name='taskrun_dispatch_idx'),
        ),
        migrations.RunPython(drop_like_index, migrations.RunPython.noop),
    ]
