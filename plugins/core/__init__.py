"""Weir's core plugins: Kestra's `io.kestra.plugin.core.*` catalog (KESTRA.md §3-4)."""

from __future__ import annotations

from apps.plugins.sdk import Plugin
from plugins.core import (
    conditions,
    conditions_execution,
    debug,
    execution,
    flow,
    flow_executable,
    flow_loops,
    flow_misc,
    http,
    http_trigger,
    kv,
    log,
    logs,
    namespace,
    output,
    state,
    storage,
    templating,
    toggle,
    triggers,
)

PLUGINS: list[type[Plugin]] = [
    *log.PLUGINS,
    *logs.PLUGINS,
    *debug.PLUGINS,
    *flow.PLUGINS,
    *flow_loops.PLUGINS,
    *flow_executable.PLUGINS,
    *flow_misc.PLUGINS,
    *execution.PLUGINS,
    *output.PLUGINS,
    *kv.PLUGINS,
    *state.PLUGINS,
    *http.PLUGINS,
    *http_trigger.PLUGINS,
    *namespace.PLUGINS,
    *storage.PLUGINS,
    *templating.PLUGINS,
    *toggle.PLUGINS,
    *triggers.PLUGINS,
    *conditions.PLUGINS,
    *conditions_execution.PLUGINS,
]
