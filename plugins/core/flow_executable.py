"""Tasks of `io.kestra.plugin.core.flow` that run other flows (KESTRA.md §3.1): Subflow,
ForEachItem, and the deprecated Template."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field, model_validator

from apps.plugins.sdk import (
    ExecutableMixin,
    FlowableProperties,
    FlowableTask,
    Issue,
    Plugin,
    Properties,
    RunnableTask,
    TaskProperties,
    ValidationContext,
    dynamic,
)
from plugins.core._common import DateTime, Expression, LabelsSpec, PositiveInt, State, system_label_issues

GROUP = "io.kestra.plugin.core.flow"


class Subflow(ExecutableMixin, RunnableTask):
    """Start an execution of another flow (a *subflow*) and, by default, wait for it.

    Why: reuse a flow as a building block, isolate a step, or run it with other inputs. The
    child is an ordinary execution whose `trigger` is this task
    (`{{ trigger.executionId }}`, `{{ trigger.namespace }}`, `{{ trigger.flowId }}`, …).

    - `inputs` are validated against the child flow's inputs; `labels` are added to the child.
    - `wait: false` ends this task in SUCCESS as soon as the child is created.
    - With `transmitFailed: true` (the default) the child's FAILED/KILLED/WARNING/PAUSED state is
      copied onto this task run (FAILED becomes WARNING with `allowFailure`). It only applies
      when `wait` is true.
    - The child always gets the parent's `system.*` labels (so the correlation id follows);
      `inheritLabels: true` copies all of the parent's labels.
    - The child flow must exist and be enabled; a flow may not call itself.

    Outputs: `executionId`, `state` (the child's final state), and `outputs` — the child's
    **flow-level** `outputs`, read as `{{ outputs.<task>.outputs.<outputId> }}`.
    The `outputs` *property* is the deprecated way of extracting child values: declare flow
    outputs in the child instead.
    """

    type = "io.kestra.plugin.core.flow.Subflow"
    aliases = (
        "io.kestra.core.tasks.flows.Subflow",
        "io.kestra.core.tasks.flows.Flow",
        "io.kestra.plugin.core.flow.Flow",
    )
    title = "Run a subflow"
    group = GROUP
    icon = "subflow"
    examples = (
        """\
id: parent
namespace: company.team
tasks:
  - id: call_child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs:
      user: "{{ execution.id }}"
    labels:
      source: parent
    wait: true
    transmitFailed: true
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "Child {{ outputs.call_child.executionId }} ended {{ outputs.call_child.state }}"
""",
    )

    class Properties(TaskProperties):
        namespace: str = dynamic(description="Namespace of the flow to run.")
        flowId: str = dynamic(description="Id of the flow to run.")
        revision: int | None = Field(None, ge=1, description="Revision to run; default: the latest.")
        inputs: dict[str, Any] | None = dynamic(None, description="Inputs passed to the child execution.")
        labels: LabelsSpec | None = dynamic(None, description="Labels added to the child execution.")
        wait: bool = Field(True, description="Wait for the child execution to end.")
        transmitFailed: bool = Field(
            True, description="Copy a failed/killed/warning child state onto this task (needs `wait`)."
        )
        inheritLabels: bool = Field(False, description="Give the child all labels of this execution.")
        scheduleDate: DateTime | None = dynamic(None, description="Create the child now, but start it at this date.")
        outputs: dict[str, Any] | None = dynamic(
            None, description="Deprecated: values extracted from the child; use the child's flow outputs."
        )

    class Outputs(BaseModel):
        executionId: str | None = Field(None, description="Id of the child execution.")
        state: State | None = Field(None, description="Final state of the child execution (when waiting).")
        outputs: dict[str, Any] | None = Field(None, description="The child's flow-level outputs.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from system_label_issues(raw.get("labels"))


class Batch(Properties):
    """How `ForEachItem` cuts its file. Set one of `rows`, `bytes` or `partitions` (default: 1 row)."""

    rows: PositiveInt | Expression | None = dynamic(1, description="Lines per batch.")
    bytes: str | None = dynamic(None, description="Maximum size of a batch, e.g. `10MB`.")
    partitions: PositiveInt | Expression | None = dynamic(None, description="Number of batches to make.")
    separator: str = dynamic("\n", description="Line separator of the file.")

    @model_validator(mode="after")
    def _one_way(self) -> Batch:
        chosen = [n for n in ("rows", "bytes", "partitions") if n in self.model_fields_set and getattr(self, n)]
        if len(chosen) > 1:
            raise ValueError(f"set only one of rows, bytes or partitions (got {', '.join(chosen)})")
        return self


class ForEachItem(ExecutableMixin, FlowableTask):
    """Split a file into batches and start one subflow execution per batch.

    `items` must be an internal-storage URI (`kestra://…`) of a line-oriented file: ION, JSON
    Lines, or headerless CSV — one item per line. Convert other formats first.

    - `batch` chooses the cut: `rows` (default 1 line per batch), `bytes` or `partitions`.
    - In `inputs`, `{{ taskrun.items }}` is the URI of the batch file and `{{ taskrun.iteration }}`
      its index.
    - `wait`, `transmitFailed`, `inheritLabels`, `labels`, `scheduleDate` behave as on `Subflow`.
    - Internally it creates the task runs `<id>_split`, `<id>_items` and `<id>_merge`; the
      merged subflow outputs are at `{{ outputs.<id>_merge.subflowOutputs }}`: a file with one
      JSON map of a subflow's flow outputs per line, in batch order.
    - Each subflow execution's `trigger` holds `taskRunIteration`, its batch number (from 1).

    Why: process large data sets item by item with isolation, retries and parallelism per
    batch, without loading everything into one execution.

    Outputs: `numberOfBatches`, `iterations` (a count of subflow executions per state) and
    `uri` (a file of the merged subflow outputs).
    """

    type = "io.kestra.plugin.core.flow.ForEachItem"
    aliases = ("io.kestra.core.tasks.flows.ForEachItem",)
    title = "Run a subflow per batch of items"
    group = GROUP
    icon = "batch"
    layout = "sequential"
    planner = "for_each_item"
    examples = (
        """\
id: for_each_item
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.file }}"
    batch:
      rows: 10
    namespace: company.team
    flowId: process_batch
    wait: true
    transmitFailed: true
    inputs:
      data: "{{ taskrun.items }}"
      index: "{{ taskrun.iteration }}"
""",
    )

    class Properties(FlowableProperties):
        items: str = dynamic(description="`kestra://` URI of a file with one item per line.")
        batch: Batch = Field(default_factory=Batch, description="How to split the items into batches.")
        namespace: str = dynamic(description="Namespace of the subflow.")
        flowId: str = dynamic(description="Id of the subflow.")
        revision: int | None = Field(None, ge=1, description="Revision to run; default: the latest.")
        inputs: dict[str, Any] | None = dynamic(
            None, description="Inputs of each subflow execution; use `{{ taskrun.items }}`."
        )
        labels: LabelsSpec | None = dynamic(None, description="Labels added to each subflow execution.")
        wait: bool = Field(True, description="Wait for every subflow execution to end.")
        transmitFailed: bool = Field(True, description="Fail this task if a subflow execution fails.")
        inheritLabels: bool = Field(False, description="Give the subflows all labels of this execution.")
        scheduleDate: DateTime | None = dynamic(None, description="Start the subflows at this date.")

    class Outputs(BaseModel):
        numberOfBatches: int | None = Field(None, description="How many batches (subflow executions) were made.")
        iterations: dict[str, int] | None = Field(None, description="Subflow executions counted by state.")
        uri: str | None = Field(None, description="Internal-storage file of the merged subflow outputs.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from system_label_issues(raw.get("labels"))


class Template(FlowableTask):
    """Deprecated: use a `Subflow`. Inline the tasks of a stored Template.

    Templates were namespace-level task lists reused by `templateId`. They are deprecated in
    Kestra and disabled by default; Weir keeps the type so old flows still parse. `args` are
    exposed to the template's tasks as `{{ parent.outputs.args }}`.

    Output: `args` (the rendered `args`).
    """

    type = "io.kestra.plugin.core.flow.Template"
    aliases = ("io.kestra.core.tasks.flows.Template",)
    title = "Inline a template (deprecated)"
    group = GROUP
    icon = "template"
    layout = "sequential"
    deprecated = "io.kestra.plugin.core.flow.Subflow"
    examples = (
        """\
id: with_template
namespace: company.team
tasks:
  - id: shared
    type: io.kestra.plugin.core.flow.Template
    namespace: company.team
    templateId: shared_steps
    args:
      name: "{{ flow.id }}"
""",
    )

    class Properties(FlowableProperties):
        namespace: str = Field(description="Namespace of the template.")
        templateId: str = Field(description="Id of the template.")
        args: dict[str, Any] | None = dynamic(None, description="Values passed to the template's tasks.")

    class Outputs(BaseModel):
        args: dict[str, Any] | None = Field(None, description="The rendered `args`.")


EXECUTABLE_TYPES: frozenset[str] = frozenset((Subflow.type, *Subflow.aliases))
"""Runnable-kind types that still run in the executor, not on a worker."""

PLUGINS: list[type[Plugin]] = [Subflow, ForEachItem, Template]
