"""The `io.kestra.plugin.core.trigger.Toggle` task (KESTRA.md §3.2); triggers are in triggers.py."""

from __future__ import annotations

from pydantic import Field

from apps.plugins.sdk import Plugin, RunContext, RunnableTask, TaskProperties, dynamic


class Toggle(RunnableTask):
    """Enable or disable a trigger (its runtime state), by default in the current flow.

    `enabled: false` (the default) disables the trigger, `true` re-enables it. It changes the
    trigger's runtime state, not the flow source, exactly like the toggle in the UI. Turning a
    `Schedule` back on applies its `recoverMissedSchedules`. Use it to stop a schedule once some
    goal is reached, or to pause a trigger during maintenance. No outputs.
    """

    type = "io.kestra.plugin.core.trigger.Toggle"
    aliases = ("io.kestra.core.tasks.trigger.Toggle",)
    title = "Toggle a trigger"
    group = "io.kestra.plugin.core.trigger"
    icon = "toggle"
    examples = (
        """\
id: stop_schedule
namespace: company.team
tasks:
  - id: disable
    type: io.kestra.plugin.core.trigger.Toggle
    trigger: every_minute
    enabled: false
triggers:
  - id: every_minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
""",
    )

    class Properties(TaskProperties):
        namespace: str | None = dynamic(None, description="Namespace of the flow; default: the current one.")
        flowId: str | None = dynamic(None, description="Flow holding the trigger; default: the current one.")
        trigger: str = dynamic(description="Id of the trigger.")
        enabled: bool = Field(False, description="true enables the trigger, false disables it.")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        ctx.host().toggle_trigger(props.namespace, props.flowId, props.trigger, props.enabled)
        ctx.log("INFO", f"trigger '{props.trigger}' {'enabled' if props.enabled else 'disabled'}")


PLUGINS: list[type[Plugin]] = [Toggle]
