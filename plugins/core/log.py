"""Logging tasks."""

from __future__ import annotations

from pydantic import Field

from apps.plugins.sdk import LogLevel, Plugin, RunContext, RunnableTask, TaskProperties, dynamic


class Log(RunnableTask):
    """Write one message, or several, to the execution's log at the given level.

    Messages are rendered with the expression engine, so `{{ inputs.name }}` and
    `{{ outputs.previous.value }}` work.
    """

    type = "io.kestra.plugin.core.log.Log"
    aliases = ("io.kestra.core.tasks.log.Log",)
    title = "Log a message"
    group = "io.kestra.plugin.core.log"
    icon = "log"
    examples = (
        """\
id: hello
namespace: company.team
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ flow.id }}"
    level: INFO
""",
    )

    class Properties(TaskProperties):
        message: str | list[str] = dynamic(description="A message or a list of messages.")
        level: LogLevel = Field(LogLevel.INFO, description="Log level of the message(s).")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        messages = props.message if isinstance(props.message, list) else [props.message]
        for message in messages:
            ctx.log(props.level.value, message)

PLUGINS: list[type[Plugin]] = [Log]
