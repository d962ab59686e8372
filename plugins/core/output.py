"""Task outputs: `io.kestra.plugin.core.output.*` (KESTRA.md §3.2)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from apps.plugins.sdk import Plugin, RunContext, RunnableTask, TaskProperties, dynamic


class OutputValues(RunnableTask):
    """Publish rendered values as this task's outputs.

    Each entry of `values` is rendered (strings, lists and maps, any JSON value) and exposed as
    `{{ outputs.<id>.values.<key> }}`. Use it to compute something once and reuse it downstream,
    to give a loop iteration a result, or to feed flow-level `outputs`. Rendered expressions
    produce strings: compare with `'4'`, not `4`, or convert with `| number`.
    """

    type = "io.kestra.plugin.core.output.OutputValues"
    title = "Output values"
    group = "io.kestra.plugin.core.output"
    icon = "output"
    examples = (
        """\
id: output_values
namespace: company.team
tasks:
  - id: compute
    type: io.kestra.plugin.core.output.OutputValues
    values:
      greeting: "Hello {{ flow.id }}"
      sizes: [1, 2, 3]
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.compute.values.greeting }}"
""",
    )

    class Properties(TaskProperties):
        values: dict[str, Any] | None = dynamic(None, description="The values to output, rendered.")

    class Outputs(BaseModel):
        values: dict[str, Any] | None = Field(None, description="The rendered values.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(values=props.values or {})

PLUGINS: list[type[Plugin]] = [OutputValues]
