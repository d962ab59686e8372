from __future__ import annotations

from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "apps.triggers"
    label = "triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connects the ports through which executions reach this app (docs/adr/0020): an
        execution's end wakes the Flow triggers, the trigger Toggle task, and the Celery
        messages that firing and polling publish."""
        from apps.executions.runtime import ports
        from apps.triggers import flowtriggers, services, tasks

        ports.execution_ended.connect(flowtriggers.on_execution_end)
        ports.toggle_trigger.connect(services.toggle_from_flow)
        ports.enqueue_trigger_start.connect(tasks.enqueue_start)
        ports.enqueue_poll.connect(tasks.enqueue_evaluate)
