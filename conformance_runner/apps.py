"""The conformance runner as a Django app, so `manage.py conformance` finds its command.

It depends on Weir (services, models, the API's JSON); nothing in `apps/` imports it.
"""

from __future__ import annotations

from django.apps import AppConfig


class ConformanceRunnerConfig(AppConfig):
    name = "conformance_runner"
    label = "conformance_runner"
    verbose_name = "Conformance runner (test tooling)"
