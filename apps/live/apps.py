from __future__ import annotations

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    label = "live"

    def ready(self) -> None:
        """Executions announce their committed changes through ports they declare
        (apps/executions/runtime/ports.py, docs/adr/0020): the live views connect them here."""
        from apps.executions.runtime import ports
        from apps.live import publish

        ports.live_execution_changed.connect(publish.execution_changed)
        ports.live_row_changed.connect(publish.row_changed)
