"""Tasks acting on executions: `io.kestra.plugin.core.execution.*` (KESTRA.md §3.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Issue,
    Plugin,
    Properties,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    ValidationContext,
    dynamic,
    is_truthy,
)
from plugins.core._common import DateTime, Expression, LabelsSpec, State, parse_labels, system_label_issues

GROUP = "io.kestra.plugin.core.execution"


class Fail(RunnableTask):
    """Fail the task run — and so the execution — on purpose, with `errorMessage`.

    Without `condition` it always fails. With a `condition`, it fails only when the rendered
    condition is truthy (KESTRA.md §6.6) and otherwise ends in SUCCESS. Use it to stop a flow on
    bad data or an unexpected branch (e.g. in a `Switch` default), or inside an `errors` branch to
    make the failure explicit. The message lands in the task's logs. No outputs.
    """

    type = "io.kestra.plugin.core.execution.Fail"
    aliases = ("io.kestra.core.tasks.executions.Fail",)
    title = "Fail the execution"
    group = GROUP
    icon = "fail"
    examples = (
        """\
id: fail_on_bad_input
namespace: company.team
inputs:
  - id: quantity
    type: INT
    defaults: 1
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.quantity < 0 }}"
    errorMessage: "Negative quantity: {{ inputs.quantity }}"
""",
    )

    class Properties(TaskProperties):
        condition: str | None = dynamic(None, description="Fail only when this renders truthy.")
        errorMessage: str = dynamic("Task failure", description="The error message.")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        if props.condition is not None and not is_truthy(props.condition):
            return
        raise TaskFailed(props.errorMessage)

class Labels(RunnableTask):
    """Add or overwrite labels on the running execution.

    Labels make executions searchable and filterable (e.g. a customer id known only at run
    time). Give a map `{key: value}`, a list of `{key, value}`, or an expression rendering to a
    JSON map. Keys and values are rendered; values become strings. Keys starting with `system.`
    are reserved and rejected. The task runs in the executor and has no outputs.
    """

    type = "io.kestra.plugin.core.execution.Labels"
    aliases = ("io.kestra.core.tasks.executions.Labels",)
    title = "Set execution labels"
    group = GROUP
    icon = "label"
    examples = (
        """\
id: labels
namespace: company.team
inputs:
  - id: customer
    type: STRING
    defaults: acme
tasks:
  - id: tag
    type: io.kestra.plugin.core.execution.Labels
    labels:
      customer: "{{ inputs.customer }}"
  - id: tag_list
    type: io.kestra.plugin.core.execution.Labels
    labels:
      - key: stage
        value: loaded
""",
    )

    class Properties(TaskProperties):
        labels: LabelsSpec | Expression = dynamic(description="A map, a list of `{key, value}`, or a JSON-map expression.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from system_label_issues(raw.get("labels"))

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        labels = parse_labels(props.labels)
        system = [item["key"] for item in labels if item["key"].startswith("system.")]
        if system:
            raise TaskFailed(f"System labels can not be set by the Labels task: {', '.join(system)}")
        ctx.set_labels(labels)

class Resume(RunnableTask):
    """Resume a PAUSED execution — by default the current one.

    Set `executionId` (and `namespace`/`flowId` when it belongs to another flow) to resume
    another execution, e.g. from an approval flow. `inputs` fill the `onResume` inputs of the
    `Pause` task being resumed. No outputs.
    """

    type = "io.kestra.plugin.core.execution.Resume"
    aliases = ("io.kestra.core.tasks.executions.Resume",)
    title = "Resume a paused execution"
    group = GROUP
    icon = "play"
    examples = (
        """\
id: approve
namespace: company.team
inputs:
  - id: executionId
    type: STRING
tasks:
  - id: resume
    type: io.kestra.plugin.core.execution.Resume
    executionId: "{{ inputs.executionId }}"
    inputs:
      approved: true
""",
    )

    class Properties(TaskProperties):
        executionId: str | None = dynamic(None, description="Execution to resume; default: the current one.")
        namespace: str | None = dynamic(None, description="Namespace of that execution's flow.")
        flowId: str | None = dynamic(None, description="Flow of that execution.")
        inputs: dict[str, Any] | None = dynamic(None, description="Values for the Pause task's `onResume` inputs.")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        resumed = ctx.host().resume(props.executionId or None, props.inputs,
                                    namespace=props.namespace or None, flow_id=props.flowId or None)
        ctx.log("INFO", f"Execution '{resumed}' resumed")


class FlowRef(Properties):
    namespace: str = dynamic(description="Namespace of the flow.")
    flowId: str = dynamic(description="Id of the flow.")


class CountResult(BaseModel):
    namespace: str | None = None
    flowId: str | None = None
    count: int | None = None


def keep(ctx: RunContext, expression: str, count: int) -> bool:
    """Render `expression` in the task's context with `count` bound, as Kestra does per flow."""
    rendered = ctx.render(f"{{% set count = {int(count)} %}}{expression}")
    return str(rendered).strip() == "true"


class Count(RunnableTask):
    """Count executions per flow in a period and keep the flows whose count passes `expression`.

    Filter by `flows` (explicit list) or `namespaces` (child namespaces included), by `states`,
    and by start date between `startDate` (required) and `endDate` (default: now). Every listed
    flow gets a count, 0 when it did not run. For each flow, `expression` is rendered with
    `{{ count }}` bound to its count; only flows where it renders `true` are kept. Typical use:
    a scheduled flow that alerts when a flow did not run (`{{ count == 0 }}`).

    Outputs: `results` (a list of `{namespace, flowId, count}`) and `total` (the sum of the kept
    counts).
    """

    type = "io.kestra.plugin.core.execution.Count"
    aliases = ("io.kestra.core.tasks.executions.Counts",)
    title = "Count executions"
    group = GROUP
    icon = "count"
    examples = (
        """\
id: missing_runs
namespace: company.team
tasks:
  - id: count
    type: io.kestra.plugin.core.execution.Count
    flows:
      - namespace: company.team
        flowId: nightly_load
    states:
      - SUCCESS
    startDate: "{{ now() | dateAdd(-1, 'DAYS') }}"
    expression: "{{ count == 0 }}"
  - id: alert
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ outputs.count.results | length > 0 }}"
    errorMessage: nightly_load did not succeed in the last day
""",
    )

    class Properties(TaskProperties):
        flows: list[FlowRef] | None = Field(None, description="Flows to count; else use `namespaces`.")
        namespaces: list[str] | None = dynamic(None, description="Namespaces whose flows are counted.")
        states: list[State] | None = Field(None, description="Only count executions in these states.")
        startDate: DateTime = dynamic(description="Count executions started after this date.")
        endDate: DateTime | None = dynamic(None, description="…and before this date (default: now).")
        # Not `dynamic`: it is rendered by the task, once per flow with `count` bound.
        expression: str = Field(description="Filter on `{{ count }}`, rendered per flow; flows where it "
                                            "renders `true` are kept.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        if not raw.get("flows") and not raw.get("namespaces"):
            yield (), "Set `flows` or `namespaces`: which executions should be counted?"

    class Outputs(BaseModel):
        results: list[CountResult] | None = Field(None, description="Kept flows with their counts.")
        total: int | None = Field(None, description="Sum of the kept counts.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        if props.flows is None and props.namespaces is None:
            raise TaskFailed("You must provide a list of flows or namespaces.")
        # `flows` is not rendered by the worker (only top-level dynamic properties are): render here.
        flows = None if props.flows is None else [
            (str(ctx.render(flow.namespace)), str(ctx.render(flow.flowId))) for flow in props.flows]
        counts = ctx.host().count_executions(flows, props.namespaces, props.states, props.startDate,
                                             props.endDate or None)
        kept = [CountResult(**row) for row in counts if keep(ctx, props.expression, row["count"])]
        return self.Outputs(results=kept, total=sum(row.count or 0 for row in kept))


class PurgeExecutions(RunnableTask):
    """Delete old executions and, optionally, their logs, metrics and internal-storage files.

    Selects terminated executions that ended before `endDate` (required) and, when `startDate` is
    set, started after it, optionally of one `namespace` (its child namespaces too when `flowId`
    is unset), one `flowId` and some `states`. Each `purge*` flag chooses what is deleted; an
    execution whose logs or metrics are kept is only marked deleted so they stay readable. Run it
    on a schedule to keep the database small; it cannot be undone. Without `namespace` it purges
    the flow's own namespace and its children; another namespace must list this flow's namespace
    in `allowedNamespaces`, and the flow's last author needs WRITE there.

    Outputs: `executionsCount`, `logsCount`, `metricsCount`, `storagesCount`.
    """

    type = "io.kestra.plugin.core.execution.PurgeExecutions"
    aliases = ("io.kestra.core.tasks.storages.Purge", "io.kestra.plugin.core.storage.Purge")
    title = "Purge executions"
    group = GROUP
    icon = "trash"
    examples = (
        """\
id: purge
namespace: system
tasks:
  - id: purge_executions
    type: io.kestra.plugin.core.execution.PurgeExecutions
    endDate: "{{ now() | dateAdd(-1, 'MONTHS') }}"
    states:
      - SUCCESS
      - WARNING
    purgeLog: true
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@daily"
""",
    )

    class Properties(TaskProperties):
        namespace: str | None = dynamic(None, description="Namespace (a prefix when `flowId` is not set); "
                                                          "default: the flow's own.")
        flowId: str | None = dynamic(None, description="Flow whose executions are purged.")
        states: list[State] | None = Field(None, description="Only purge executions in these states.")
        startDate: DateTime | None = dynamic(None, description="Only executions after this date.")
        endDate: DateTime = dynamic(description="Only executions before this date.")
        purgeExecution: bool = Field(True, description="Delete the executions.")
        purgeLog: bool = Field(True, description="Delete their logs.")
        purgeMetric: bool = Field(True, description="Delete their metrics.")
        purgeStorage: bool = Field(True, description="Delete their internal-storage files.")

    class Outputs(BaseModel):
        executionsCount: int | None = Field(None, description="Deleted executions.")
        logsCount: int | None = Field(None, description="Deleted log lines.")
        metricsCount: int | None = Field(None, description="Deleted metrics.")
        storagesCount: int | None = Field(None, description="Deleted files.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        counts = ctx.host().purge_executions(
            namespace=props.namespace or None, flow_id=props.flowId or None, states=props.states,
            start_date=props.startDate or None, end_date=props.endDate, purge_execution=props.purgeExecution,
            purge_log=props.purgeLog, purge_metric=props.purgeMetric, purge_storage=props.purgeStorage)
        return self.Outputs(**counts)


PLUGINS: list[type[Plugin]] = [Fail, Labels, Resume, Count, PurgeExecutions]
