from __future__ import annotations

from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "apps.plugins"
    label = "plugins"

    def ready(self) -> None:
        from apps.plugins import checks  # noqa: F401  (registers the system check)
        from apps.plugins.registry import registry

        registry.ensure_loaded()
