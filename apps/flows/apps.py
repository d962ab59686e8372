from __future__ import annotations

from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "apps.flows"
    label = "flows"

    def ready(self) -> None:
        """Namespaces ask through a port whether flows still name one (apps/namespaces/ports.py)."""
        from apps.flows.services import holds_flows
        from apps.namespaces import ports

        ports.holds_flows.connect(holds_flows)
