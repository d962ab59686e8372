"""Debugging tasks: return a rendered value, or echo it to the log."""

from __future__ import annotations

from pydantic import BaseModel, Field

from apps.plugins.sdk import LogLevel, Plugin, RunContext, RunnableTask, TaskProperties, dynamic


class Return(RunnableTask):
    """Render `format` and return it as the `value` output; handy to pass data between tasks."""

    type = "io.kestra.plugin.core.debug.Return"
    aliases = ("io.kestra.core.tasks.debugs.Return",)
    title = "Return a value"
    group = "io.kestra.plugin.core.debug"
    icon = "return"
    examples = (
        """\
id: return_example
namespace: company.team
tasks:
  - id: now
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.startDate }}"
""",
    )

    class Properties(TaskProperties):
        format: str | None = dynamic(None, description="The value to render and return.")

    class Outputs(BaseModel):
        value: str | None = Field(None, description="The rendered `format`.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(value=props.format)

class Echo(RunnableTask):
    """Deprecated: use `io.kestra.plugin.core.log.Log`. Logs the rendered `format`."""

    type = "io.kestra.plugin.core.debug.Echo"
    aliases = ("io.kestra.core.tasks.debugs.Echo",)
    title = "Echo a message (deprecated)"
    group = "io.kestra.plugin.core.debug"
    icon = "log"
    deprecated = "io.kestra.plugin.core.log.Log"
    examples = (
        """\
id: echo_example
namespace: company.team
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Echo
    format: "{{ flow.id }}"
""",
    )

    class Properties(TaskProperties):
        format: str = dynamic(description="The message to log.")
        level: LogLevel = Field(LogLevel.INFO, description="Log level of the message.")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        ctx.log(props.level.value, props.format)

PLUGINS: list[type[Plugin]] = [Return, Echo]
