"""Templated tasks: `io.kestra.plugin.core.templating.*` (KESTRA.md §3.2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from apps.plugins.sdk import Plugin, RunnableTask, TaskProperties, dynamic


class TemplatedTask(RunnableTask):
    """Render a whole task definition, then run it.

    `spec` is the YAML of one **runnable** task (with `id` and `type`), rendered by the
    expression engine before it is parsed. This lets any property — even a non-dynamic one or
    the `type` itself — come from inputs or outputs. The inner task is validated only at run
    time, so mistakes surface late: prefer ordinary dynamic properties when they suffice.

    Outputs: those of the inner task.
    """

    type = "io.kestra.plugin.core.templating.TemplatedTask"
    aliases = ("io.kestra.core.tasks.templating.TemplatedTask",)
    title = "Templated task"
    group = "io.kestra.plugin.core.templating"
    icon = "template"
    examples = (
        """\
id: templated_task
namespace: company.team
inputs:
  - id: level
    type: STRING
    defaults: WARN
tasks:
  - id: templated
    type: io.kestra.plugin.core.templating.TemplatedTask
    spec: |
      id: log
      type: io.kestra.plugin.core.log.Log
      level: {{ inputs.level }}
      message: rendered before parsing
""",
    )

    class Properties(TaskProperties):
        spec: str = dynamic(description="YAML of one runnable task, rendered before it is parsed.")

    class Outputs(BaseModel):
        """The inner task's outputs, whatever they are."""

        model_config = ConfigDict(extra="allow")


PLUGINS: list[type[Plugin]] = [TemplatedTask]
