"""Core conditions about executions: `io.kestra.plugin.core.condition.*` (KESTRA.md §4.6).

They test the execution that fired a Flow trigger (or a listener), including the deprecated
`MultipleCondition`, `FlowCondition` and `FlowNamespaceCondition`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from apps.plugins.sdk import (
    ID_PATTERN,
    Condition,
    ConditionProperties,
    ConditionSpec,
    Duration,
    Plugin,
    condition_map,
    dynamic,
)
from plugins.core._common import LabelsSpec, State, TimeWindow
from plugins.core.conditions import GROUP, legacy

LEGACY = "io.kestra.core.models.conditions.types"


def _flow_trigger_example(name: str, condition: str) -> str:
    """A whole flow whose Flow trigger uses `condition` (YAML lines, indented for a list item)."""
    return f"""\
id: {name}
namespace: company.team
tasks:
  - id: react
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.flowId }}}} ended {{{{ trigger.state }}}}"
triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
{condition}"""


class ExecutionFlow(Condition):
    """True when the execution belongs to the flow `namespace`/`flowId`.

    The classic way to chain flows with a Flow trigger: "run me after flow X".
    """

    type = f"{GROUP}.ExecutionFlow"
    aliases = legacy("ExecutionFlow")
    title = "Execution of a flow"
    group = GROUP
    icon = "flow"
    examples = (
        _flow_trigger_example("after_load", """\
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.team
        flowId: load
"""),
    )

    class Properties(ConditionProperties):
        namespace: str = dynamic(description="Namespace of the flow.")
        flowId: str = dynamic(description="Id of the flow.")


class ExecutionNamespace(Condition):
    """True when the execution's namespace matches `namespace`.

    `comparison` chooses how: EQUALS (the default), PREFIX (the namespace and its children) or
    SUFFIX. `prefix: true` is the deprecated spelling of PREFIX.
    """

    type = f"{GROUP}.ExecutionNamespace"
    aliases = legacy("ExecutionNamespace")
    title = "Execution namespace"
    group = GROUP
    icon = "namespace"
    examples = (
        _flow_trigger_example("any_team_flow", """\
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.team
        comparison: PREFIX
"""),
    )

    class Properties(ConditionProperties):
        namespace: str = dynamic(description="The namespace (or prefix/suffix) to match.")
        comparison: Literal["EQUALS", "PREFIX", "SUFFIX"] | None = Field(
            None, description="How to compare; default EQUALS (or PREFIX when `prefix` is true)."
        )
        prefix: bool = Field(False, description="Deprecated: use `comparison: PREFIX`.")


class ExecutionStatus(Condition):
    """True when the execution's state is in `in` and not in `notIn` (either may be omitted)."""

    type = f"{GROUP}.ExecutionStatus"
    aliases = legacy("ExecutionStatus")
    title = "Execution status"
    group = GROUP
    icon = "status"
    examples = (
        _flow_trigger_example("on_failure", """\
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in:
          - FAILED
          - WARNING
"""),
    )

    class Properties(ConditionProperties):
        in_: Annotated[list[State] | None, Field(alias="in")] = Field(None, description="Accepted states.")
        notIn: list[State] | None = Field(None, description="Rejected states.")


class ExecutionLabels(Condition):
    """True when the execution has **all** the given labels (map or list of `{key, value}`)."""

    type = f"{GROUP}.ExecutionLabels"
    aliases = legacy("ExecutionLabels")
    title = "Execution labels"
    group = GROUP
    icon = "label"
    examples = (
        _flow_trigger_example("prod_only", """\
      - type: io.kestra.plugin.core.condition.ExecutionLabels
        labels:
          env: prod
"""),
    )

    class Properties(ConditionProperties):
        labels: LabelsSpec = dynamic(description="Labels the execution must have.")


class ExecutionOutputs(Condition):
    """True when `expression`, rendered against the execution's flow-level outputs
    (`{{ trigger.outputs.x }}`), is truthy. Needs an execution with outputs."""

    type = f"{GROUP}.ExecutionOutputs"
    aliases = legacy("ExecutionOutputs")
    title = "Execution outputs"
    group = GROUP
    icon = "output"
    examples = (
        _flow_trigger_example("rows_loaded", """\
      - type: io.kestra.plugin.core.condition.ExecutionOutputs
        expression: "{{ trigger.outputs.rows > 0 }}"
"""),
    )

    class Properties(ConditionProperties):
        expression: str = dynamic(description="Rendered with `trigger.outputs`; truthy means true.")


class HasRetryAttempt(Condition):
    """True when some task run of the execution has a retry attempt whose state is in `in` and
    not in `notIn` — e.g. to alert on executions that needed retries."""

    type = f"{GROUP}.HasRetryAttempt"
    aliases = legacy("HasRetryAttempt")
    title = "Has a retry attempt"
    group = GROUP
    icon = "retry"
    examples = (
        _flow_trigger_example("retried", """\
      - type: io.kestra.plugin.core.condition.HasRetryAttempt
        in:
          - FAILED
"""),
    )

    class Properties(ConditionProperties):
        in_: Annotated[list[State] | None, Field(alias="in")] = Field(None, description="Accepted attempt states.")
        notIn: list[State] | None = Field(None, description="Rejected attempt states.")


class MultipleCondition(Condition):
    """Deprecated: use the Flow trigger's `preconditions`.

    True when **every** named condition in `conditions` has been met, by possibly different
    executions, within `timeWindow` (default: a daily DURATION_WINDOW). Results are stored under
    `id`, unique per trigger; with `resetOnSuccess` (default) they reset after a success. The
    older `window`/`windowAdvance` are shorthands for `timeWindow.window`/`windowAdvance`.
    Cannot be used on a Webhook.
    """

    type = f"{GROUP}.MultipleCondition"
    aliases = (f"{LEGACY}.MultipleCondition",)
    title = "Multiple conditions (deprecated)"
    group = GROUP
    icon = "multiple"
    deprecated = "io.kestra.plugin.core.trigger.Flow"
    examples = (
        _flow_trigger_example("after_a_and_b", """\
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in:
          - SUCCESS
      - id: a_and_b
        type: io.kestra.plugin.core.condition.MultipleCondition
        timeWindow:
          window: PT12H
        conditions:
          flow_a:
            type: io.kestra.plugin.core.condition.ExecutionFlow
            namespace: company.team
            flowId: flow_a
          flow_b:
            type: io.kestra.plugin.core.condition.ExecutionFlow
            namespace: company.team
            flowId: flow_b
"""),
    )

    class Properties(ConditionProperties):
        id: str = Field(pattern=ID_PATTERN, description="Unique id; the state of the conditions is stored under it.")
        timeWindow: TimeWindow | None = Field(None, description="When the conditions must be met.")
        window: Duration | None = Field(None, description="Deprecated: `timeWindow.window`.")
        windowAdvance: Duration | None = Field(None, description="Deprecated: `timeWindow.windowAdvance`.")
        resetOnSuccess: bool = Field(True, description="Reset the met conditions after a success.")
        conditions: dict[str, ConditionSpec] | None = condition_map(
            required=True, description="Named conditions that must all be met."
        )


class FlowCondition(Condition):
    """Deprecated: use `ExecutionFlow`. True when the execution belongs to `namespace`/`flowId`."""

    type = f"{GROUP}.FlowCondition"
    aliases = (f"{LEGACY}.FlowCondition",)
    title = "Flow (deprecated)"
    group = GROUP
    icon = "flow"
    deprecated = f"{GROUP}.ExecutionFlow"
    examples = (
        _flow_trigger_example("legacy_flow_condition", """\
      - type: io.kestra.plugin.core.condition.FlowCondition
        namespace: company.team
        flowId: load
"""),
    )

    class Properties(ConditionProperties):
        namespace: str = Field(description="Namespace of the flow.")
        flowId: str = Field(description="Id of the flow.")


class FlowNamespaceCondition(Condition):
    """Deprecated: use `ExecutionNamespace`. True when the flow's namespace equals `namespace`,
    or starts with it when `prefix` is true."""

    type = f"{GROUP}.FlowNamespaceCondition"
    aliases = (f"{LEGACY}.FlowNamespaceCondition",)
    title = "Flow namespace (deprecated)"
    group = GROUP
    icon = "namespace"
    deprecated = f"{GROUP}.ExecutionNamespace"
    examples = (
        _flow_trigger_example("legacy_namespace_condition", """\
      - type: io.kestra.plugin.core.condition.FlowNamespaceCondition
        namespace: company
        prefix: true
"""),
    )

    class Properties(ConditionProperties):
        namespace: str = Field(description="The namespace (or prefix) to match.")
        prefix: bool = Field(False, description="Match namespaces starting with `namespace`.")


PLUGINS: list[type[Plugin]] = [
    ExecutionFlow, ExecutionNamespace, ExecutionStatus, ExecutionLabels, ExecutionOutputs, HasRetryAttempt,
    MultipleCondition, FlowCondition, FlowNamespaceCondition,
]
