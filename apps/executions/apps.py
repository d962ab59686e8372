from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _forget_namespace(instance: Any, **_: Any) -> None:
    from apps.executions import nsconfig

    nsconfig.forget(instance.name)


class ExecutionsConfig(AppConfig):
    name = "apps.executions"
    label = "executions"

    def ready(self) -> None:
        """Connects the runtime's ports (apps/executions/wiring.py). A namespace's variables and
        plugin defaults are cached per process (nsconfig): an edit made in this process is seen
        at once, other processes see it within the cache's TTL."""
        from django.db.models.signals import post_delete, post_save

        from apps.executions import wiring
        from apps.namespaces.models import Namespace

        wiring.connect()

        post_save.connect(_forget_namespace, sender=Namespace, dispatch_uid="weir-namespace-config-saved")
        post_delete.connect(_forget_namespace, sender=Namespace, dispatch_uid="weir-namespace-config-deleted")
