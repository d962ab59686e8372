"""Executions, task runs, log lines, metrics, delays and the namespace KV store (DESIGN.md §5).

PostgreSQL is the source of truth: a Celery message only carries a task run id and an attempt
number. Lists of attempts and state histories are JSON on their row because they are always
read and written with it.
"""

from __future__ import annotations

from django.db import models

BUSY_STATES = ("RUNNING", "PAUSED", "RESTARTED", "KILLING", "RETRYING")
"""The states in which an execution holds one of its flow's concurrency slots."""


class Execution(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    namespace = models.CharField(max_length=150)
    flow_id = models.CharField(max_length=100)
    flow_revision = models.PositiveIntegerField()
    state = models.CharField(max_length=16, default="CREATED")
    history = models.JSONField(default=list)
    inputs = models.JSONField(default=dict)
    outputs = models.JSONField(null=True, blank=True)
    labels = models.JSONField(default=list)
    variables = models.JSONField(default=dict)
    trigger = models.JSONField(null=True, blank=True)
    parent_id = models.CharField(max_length=32, null=True, blank=True)
    original_id = models.CharField(max_length=32)
    meta = models.JSONField(default=dict)
    schedule_date = models.DateTimeField(null=True, blank=True)
    start_date = models.CharField(max_length=40, null=True, blank=True)
    end_date = models.CharField(max_length=40, null=True, blank=True)
    log_seq = models.PositiveBigIntegerField(default=0, help_text="The last log line's seq.")
    trigger_execution_id = models.CharField(max_length=32, null=True, blank=True,
                                            help_text="The parent execution of a subflow child.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        db_table = "weir_execution"
        indexes = [
            models.Index(fields=["namespace", "flow_id", "-created"], name="exec_flow_created_idx"),
            models.Index(fields=["-created"], name="exec_created_idx"),
            models.Index(fields=["state", "created"], name="exec_state_idx"),
            models.Index(fields=["trigger_execution_id"], name="exec_trigger_parent_idx"),
            # A flow's queued and busy executions, for its concurrency limit (runtime/lifecycle.py):
            # counting them through the flow's index visited every execution the flow ever had.
            models.Index(fields=["namespace", "flow_id", "created"], name="exec_flow_active_idx",
                         condition=models.Q(state__in=["QUEUED", *BUSY_STATES])),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}.{self.flow_id} {self.id}"


class TaskRun(models.Model):
    """One task run. Its row is written several times per attempt on the engine's hot path, and
    every write of a changed state inserts into each index whose predicate the new row matches:
    so the indexes are few and partial (the sweeper's and reaper's only cover the states they
    look for), and `execution` has none of its own (`taskrun_seq_unique` leads with it)."""

    id = models.CharField(primary_key=True, max_length=32)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="task_runs", db_index=False)
    task_id = models.CharField(max_length=100)
    parent_task_run_id = models.CharField(max_length=32, null=True, blank=True)
    value = models.TextField(null=True, blank=True)
    iteration = models.IntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, default="CREATED")
    history = models.JSONField(default=list)
    attempts = models.JSONField(default=list)
    attempt_no = models.PositiveIntegerField(default=0, help_text="Attempts started; fences worker writes.")
    outputs = models.JSONField(null=True, blank=True)
    plan = models.JSONField(default=dict)
    seq = models.PositiveIntegerField()
    start_date = models.CharField(max_length=40, null=True, blank=True)
    end_date = models.CharField(max_length=40, null=True, blank=True)
    queue = models.CharField(max_length=120, default="weir.tasks")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, default="")
    result = models.JSONField(null=True, blank=True, help_text=(
        "An attempt's outcome as the worker wrote it ({attempt, state, outputs, logs, labels}), waiting "
        "for the engine to apply it under the execution lock (docs/adr/0007)."))
    rev = models.BigIntegerField(null=True, blank=True, editable=False, help_text=(
        "When the row was last written, set by triggers (migration 0005): the writing transaction's "
        "id on PostgreSQL, a database-wide write counter on SQLite. A decision re-reads only rows "
        "written since its last look (apps/executions/snapshots.py)."))

    class Meta:
        db_table = "weir_task_run"
        ordering = ["execution", "seq"]
        constraints = [models.UniqueConstraint(fields=["execution", "seq"], name="taskrun_seq_unique")]
        indexes = [
            models.Index(fields=["lease_until"], condition=models.Q(state="RUNNING"), name="taskrun_lease_idx"),
            models.Index(fields=["dispatched_at"], condition=models.Q(state__in=["CREATED", "RESTARTED"]),
                         name="taskrun_dispatch_idx"),
            models.Index(fields=["execution"], condition=models.Q(result__isnull=False),
                         name="taskrun_pending_result_idx"),
            # A worker taking one of its execution's held runs (docs/adr/0009, 0031) looks for the
            # first unclaimed run by `seq`: through the (execution, seq) key it would step over
            # every run already claimed, the whole of a wide fan-out near its end.
            models.Index(fields=["execution", "seq"], condition=models.Q(state__in=["CREATED", "RESTARTED"]),
                         name="taskrun_unclaimed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.id} {self.state}"


class LogLine(models.Model):
    # No index of its own: `logline_seq_unique` (execution, seq) leads with it, and every line
    # written pays for each index (a script can print 100 000 lines).
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="log_lines", db_index=False)
    seq = models.PositiveBigIntegerField()
    task_run_id = models.CharField(max_length=32, null=True, blank=True)
    task_id = models.CharField(max_length=100, null=True, blank=True)
    attempt = models.PositiveIntegerField(null=True, blank=True)
    level = models.CharField(max_length=8, default="INFO")
    message = models.TextField()
    timestamp = models.DateTimeField()

    class Meta:
        db_table = "weir_log_line"
        ordering = ["execution", "seq"]
        constraints = [models.UniqueConstraint(fields=["execution", "seq"], name="logline_seq_unique")]

    def __str__(self) -> str:
        return f"{self.execution_id}#{self.seq}"


class Metric(models.Model):
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="metrics")
    task_run_id = models.CharField(max_length=32, null=True, blank=True)
    task_id = models.CharField(max_length=100, null=True, blank=True)
    kind = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    value = models.FloatField()
    tags = models.JSONField(default=dict)
    timestamp = models.DateTimeField()

    class Meta:
        db_table = "weir_metric"
        indexes = [models.Index(fields=["execution", "name"], name="metric_exec_name_idx")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Delay(models.Model):
    """A wake-up the scheduler delivers: retry back-off, pause delay/timeout, scheduled start…"""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="delays")
    task_run_id = models.CharField(max_length=32, null=True, blank=True)
    kind = models.CharField(max_length=32)
    due = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "weir_delay"
        indexes = [models.Index(fields=["due"], name="delay_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.due}"


class KVEntry(models.Model):
    """The namespace key-value store (kv tasks, `kv()`), and the legacy state store (`scope=state`)."""

    namespace = models.CharField(max_length=150)
    scope = models.CharField(max_length=16, default="kv")
    key = models.CharField(max_length=500)
    value = models.JSONField(null=True)
    kind = models.CharField(max_length=16, default="STRING")
    expires_at = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "weir_kv"
        constraints = [models.UniqueConstraint(fields=["namespace", "scope", "key"], name="kv_unique")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.key}"
