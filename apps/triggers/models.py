"""Trigger runtime state and slot keys (KESTRA.md §4.7, DESIGN.md §4b).

`TriggerState` is one row per namespace/flow/trigger, kept in step with the flows by
`sync.reconcile`. The scheduler claims due rows by `evaluate_at` under `SKIP LOCKED`.
`TriggerSlot` is the unique key (flow, trigger, slot, run) inserted in the transaction that
creates the slot's execution: a second execution for the same slot cannot be written.
"""

from __future__ import annotations

from django.db import models


class TriggerState(models.Model):
    namespace = models.CharField(max_length=150)
    flow_id = models.CharField(max_length=100)
    trigger_id = models.CharField(max_length=100)
    type = models.CharField(max_length=200)
    revision = models.PositiveIntegerField(help_text="The flow revision the definition comes from.")
    definition = models.JSONField(default=dict, help_text=(
        "What a tick needs without parsing the flow: {trigger (plugin defaults applied), labels, inputs}."))
    fingerprint = models.CharField(max_length=64, help_text="Digest of `definition` and `active`.")
    active = models.BooleanField(default=True, help_text="Flow live and enabled, trigger not `disabled:` in YAML.")
    disabled = models.BooleanField(default=False, help_text="Runtime switch (API, Toggle task, stopAfter).")
    next_date = models.DateTimeField(null=True, blank=True, help_text="The next slot (nextExecutionDate).")
    evaluate_at = models.DateTimeField(null=True, blank=True, help_text=(
        "When the scheduler looks at this row next: the next slot, or later while the last execution runs."))
    date = models.DateTimeField(null=True, blank=True, help_text="The last slot fired or evaluated.")
    execution_id = models.CharField(max_length=32, blank=True, default="", help_text="The last execution created.")
    evaluate_running_date = models.DateTimeField(null=True, blank=True, help_text="Polling evaluation lock.")
    worker_id = models.CharField(max_length=200, blank=True, default="")
    backfill = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "weir_trigger"
        constraints = [models.UniqueConstraint(fields=["namespace", "flow_id", "trigger_id"],
                                               name="trigger_identity")]
        indexes = [
            models.Index(fields=["evaluate_at"], name="trigger_due_idx",
                         condition=models.Q(active=True, disabled=False, evaluate_at__isnull=False)),
            models.Index(fields=["namespace", "flow_id"], name="trigger_flow_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}.{self.flow_id}:{self.trigger_id}"


class TriggerSlot(models.Model):
    """One fired slot. `run` is "" for the schedule itself and the backfill's id for a backfill,
    so a backfill may run a slot again but never twice."""

    namespace = models.CharField(max_length=150)
    flow_id = models.CharField(max_length=100)
    trigger_id = models.CharField(max_length=100)
    slot = models.DateTimeField()
    run = models.CharField(max_length=32, blank=True, default="")
    execution_id = models.CharField(max_length=32)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "weir_trigger_slot"
        constraints = [models.UniqueConstraint(fields=["namespace", "flow_id", "trigger_id", "slot", "run"],
                                               name="trigger_slot_once")]

    def __str__(self) -> str:
        return f"{self.namespace}.{self.flow_id}:{self.trigger_id}@{self.slot.isoformat()}{self.run and '/' + self.run}"
