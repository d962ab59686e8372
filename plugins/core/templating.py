"""Templated tasks: `io.kestra.plugin.core.templating.*` (KESTRA.md §3.2)."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from apps.plugins.sdk import Plugin, RunContext, RunnableTask, TaskFailed, TaskProperties, dynamic

MAX_SPEC = 1_000_000


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses YAML aliases (no alias bombs from rendered text)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not allowed in a templated spec")
        return super().compose_node(parent, index)  # type: ignore[no-untyped-call]


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

    def run(self, ctx: RunContext, props: Properties) -> dict[str, Any] | None:  # type: ignore[override]
        if len(props.spec) > MAX_SPEC:
            raise TaskFailed(f"the rendered spec is larger than {MAX_SPEC} characters")
        try:
            spec = yaml.load(props.spec, Loader=_NoAliasLoader)
        except yaml.YAMLError as error:
            raise TaskFailed(f"the rendered spec is not valid YAML: {error}") from error
        if not isinstance(spec, dict) or "type" not in spec or "id" not in spec:
            raise TaskFailed("the rendered spec must be one task: a mapping with `id` and `type`")
        return ctx.run_task(spec)


PLUGINS: list[type[Plugin]] = [TemplatedTask]
