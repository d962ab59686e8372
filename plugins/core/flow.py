"""Flowable tasks: they orchestrate children in the engine (KESTRA.md §3.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from apps.plugins.sdk import (
    DagEntry,
    FlowableProperties,
    FlowableTask,
    Issue,
    Plugin,
    TaskSpec,
    ValidationContext,
    dag_tasks,
    dynamic,
    task_list,
    task_map,
)

GROUP = "io.kestra.plugin.core.flow"


def _case_key(key: Any) -> Any:
    """Case keys are strings, as in Kestra: YAML `1:` or `true:` keys become "1" and "true"."""
    if isinstance(key, bool):
        return str(key).lower()
    return key if isinstance(key, str) or key is None else str(key)


CaseKey = Annotated[str, BeforeValidator(_case_key)]


class Sequential(FlowableTask):
    """Run child tasks one after another.

    Use it to group tasks: give a block its own `errors` branch, or put a sequence inside a
    `Parallel` or a `Switch` case. A failing child stops the sequence and fails this task (unless
    the child has `allowFailure`). No outputs of its own.
    """

    type = "io.kestra.plugin.core.flow.Sequential"
    aliases = ("io.kestra.core.tasks.flows.Sequential",)
    title = "Run tasks sequentially"
    group = GROUP
    icon = "sequential"
    layout = "sequential"
    examples = (
        """\
id: sequential
namespace: company.team
tasks:
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: first
        type: io.kestra.plugin.core.log.Log
        message: one
      - id: second
        type: io.kestra.plugin.core.log.Log
        message: two
""",
    )

    class Properties(FlowableProperties):
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run one after another.")


class Parallel(FlowableTask):
    """Run child tasks in parallel, at most `concurrent` at a time (0 means no limit).

    The task ends when every child is terminal; a failing child fails it (other running
    children are not stopped). Each child is one task: to run a *sequence* in each branch, wrap
    it in a `Sequential`. No outputs of its own.
    """

    type = "io.kestra.plugin.core.flow.Parallel"
    aliases = ("io.kestra.core.tasks.flows.Parallel",)
    title = "Run tasks in parallel"
    group = GROUP
    icon = "parallel"
    layout = "parallel"
    planner = "parallel"
    examples = (
        """\
id: parallel
namespace: company.team
tasks:
  - id: fan_out
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: 2
    tasks:
      - id: a
        type: io.kestra.plugin.core.log.Log
        message: a
      - id: b
        type: io.kestra.plugin.core.log.Log
        message: b
""",
    )

    class Properties(FlowableProperties):
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run in parallel.")
        concurrent: int = Field(0, ge=0, description="Children running at once; 0 = unlimited.")


class Switch(FlowableTask):
    """Run the tasks of the case whose key equals the rendered `value`, else `defaults`.

    The value is rendered and compared with each key of `cases` **as a string** (so `1:` matches
    the value `1`). At least one case or `defaults` must contain tasks. For a yes/no branch an
    `If` is simpler.

    Outputs: `value` (the rendered value) and `defaults` (true when no case matched).
    """

    type = "io.kestra.plugin.core.flow.Switch"
    aliases = ("io.kestra.core.tasks.flows.Switch",)
    title = "Switch on a value"
    group = GROUP
    icon = "switch"
    layout = "choice"
    planner = "switch"
    examples = (
        """\
id: switch
namespace: company.team
inputs:
  - id: color
    type: STRING
    defaults: red
tasks:
  - id: route
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.color }}"
    cases:
      red:
        - id: stop
          type: io.kestra.plugin.core.log.Log
          message: stop
    defaults:
      - id: go
        type: io.kestra.plugin.core.log.Log
        message: go
""",
    )

    class Properties(FlowableProperties):
        value: str = dynamic(description="Rendered, then compared with each case key as a string.")
        cases: dict[CaseKey, list[TaskSpec]] | None = task_map(description="Tasks to run, by value.")
        defaults: list[TaskSpec] | None = task_list(description="Tasks run when no case matches.")

    class Outputs(BaseModel):
        value: str | None = Field(None, description="The rendered value.")
        defaults: bool = Field(False, description="True when no case matched and `defaults` ran.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        cases = raw.get("cases") or {}
        has_case = isinstance(cases, dict) and any(cases.values())
        if not has_case and not raw.get("defaults"):
            yield (), "No task defined, neither cases or default have any tasks"


class Dag(FlowableTask):
    """Run tasks as a directed acyclic graph: each starts once all its `dependsOn` are terminal.

    Each entry is `{task, dependsOn: [sibling task ids]}`; entries without `dependsOn` start
    first, up to `concurrent` at once (0 = no limit). Unknown ids and cycles are validation
    errors. Use it when the dependencies are not a simple chain. No outputs of its own.
    """

    type = "io.kestra.plugin.core.flow.Dag"
    aliases = ("io.kestra.core.tasks.flows.Dag",)
    title = "Run tasks as a DAG"
    group = GROUP
    icon = "dag"
    layout = "dag"
    planner = "dag"
    examples = (
        """\
id: dag
namespace: company.team
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: extract
          type: io.kestra.plugin.core.log.Log
          message: extract
      - task:
          id: load
          type: io.kestra.plugin.core.log.Log
          message: load
        dependsOn:
          - extract
""",
    )

    class Properties(FlowableProperties):
        concurrent: int = Field(0, ge=0, description="Tasks running at once; 0 = unlimited.")
        tasks: list[DagEntry] | None = dag_tasks(description="`{task, dependsOn}` entries.")


class If(FlowableTask):
    """Run `then` when `condition` is truthy, otherwise `else`.

    The condition is rendered to a string, which is false only when it is `false`, `0`, `-0` or
    empty (KESTRA.md §6.6) — beware: `null` and `False` count as true. Use it for a two-way
    branch; for more branches on one value, a `Switch` reads better.

    Output: `evaluationResult` (bool), e.g. `{{ outputs.check.evaluationResult }}`.
    """

    type = "io.kestra.plugin.core.flow.If"
    aliases = ("io.kestra.core.tasks.flows.If",)
    title = "Branch on a condition"
    group = GROUP
    icon = "if"
    layout = "choice"
    planner = "if"
    examples = (
        """\
id: if_example
namespace: company.team
inputs:
  - id: amount
    type: INT
    defaults: 42
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.amount > 10 }}"
    then:
      - id: big
        type: io.kestra.plugin.core.log.Log
        message: "{{ inputs.amount }} is big"
    else:
      - id: small
        type: io.kestra.plugin.core.log.Log
        message: "{{ inputs.amount }} is small"
""",
    )

    class Properties(FlowableProperties):
        condition: str = dynamic(description="Rendered, then tested for truthiness.")
        then: list[TaskSpec] | None = task_list(required=True, description="Tasks run when the condition holds.")
        else_: Annotated[list[TaskSpec] | None, Field(alias="else")] = task_list(
            description="Tasks run when it does not."
        )

    class Outputs(BaseModel):
        evaluationResult: bool | None = Field(None, description="The result of the condition.")


class AllowFailure(FlowableTask):
    """Run child tasks sequentially and let the flow continue even if one of them fails.

    A failing child makes this task end in WARNING (SUCCESS if `allowWarning` is set) instead of
    FAILED, so downstream tasks still run. Use it around optional steps (notifications, cleanup)
    whose failure must not fail the whole execution. Its local `errors` branch still runs on a
    failure. Like `Sequential`, it has no outputs of its own.
    """

    type = "io.kestra.plugin.core.flow.AllowFailure"
    aliases = ("io.kestra.core.tasks.flows.AllowFailure",)
    title = "Tolerate failing children"
    group = GROUP
    icon = "shield"
    layout = "sequential"
    planner = "allow_failure"
    examples = (
        """\
id: allow_failure
namespace: company.team
tasks:
  - id: optional
    type: io.kestra.plugin.core.flow.AllowFailure
    tasks:
      - id: might_fail
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: this one is allowed to fail
  - id: next
    type: io.kestra.plugin.core.log.Log
    message: still running
""",
    )

    class Properties(FlowableProperties):
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run one after another.")


PLUGINS: list[type[Plugin]] = [Sequential, Parallel, Switch, Dag, If, AllowFailure]
