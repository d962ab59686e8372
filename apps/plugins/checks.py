"""`manage.py check` reports plugin packages that failed to import (DESIGN.md §4)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from apps.plugins.registry import registry


@register()
def plugin_import_errors(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    registry.ensure_loaded()
    return [Warning(msg, id="weir.W001", hint="Fix or remove the plugin package.") for msg in registry.load_errors]
