"""Loop tasks of `io.kestra.plugin.core.flow` (KESTRA.md §3.1): ForEach, its deprecated
predecessors EachSequential/EachParallel, and WaitFor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Duration,
    FlowableProperties,
    FlowableTask,
    Issue,
    Plugin,
    Properties,
    TaskSpec,
    ValidationContext,
    dynamic,
    task_list,
)
from plugins.core._common import json_list_issue

GROUP = "io.kestra.plugin.core.flow"

LoopValues = list[Any] | str
"""A YAML list, or a string holding a JSON array (often an expression rendering to one)."""


class ForEach(FlowableTask):
    """Run a group of `tasks` once for each **distinct** value of `values`.

    `values` is a YAML list, or a string holding a JSON array such as `'["a", "b"]'` — typically an
    expression like `{{ outputs.query.rows | json }}`. Map values are serialized to JSON strings.

    - Read the current value with `{{ taskrun.value }}` in direct children and
      `{{ parent.taskrun.value }}` in deeper ones.
    - `concurrencyLimit` is how many value groups run at once: `1` (the default) runs them one
      after the other, `0` runs them all at once, `N` at most N.
    - Inside a group, `tasks` always run sequentially; wrap them in a `Parallel` to fan out.
    - Outputs of children are keyed by value: `{{ outputs.child[taskrun.value].value }}`.

    Why: loop over a small list (files, tables, regions). For hundreds of items or heavy work,
    prefer `ForEachItem` (one subflow per batch) for performance and isolation.
    """

    type = "io.kestra.plugin.core.flow.ForEach"
    aliases = ("io.kestra.core.tasks.flows.ForEach",)
    title = "Loop over values"
    group = GROUP
    icon = "loop"
    layout = "dynamic"
    planner = "foreach"
    examples = (
        """\
id: for_each
namespace: company.team
tasks:
  - id: each_region
    type: io.kestra.plugin.core.flow.ForEach
    values: ["eu", "us", "asia"]
    concurrencyLimit: 2
    tasks:
      - id: greet
        type: io.kestra.plugin.core.log.Log
        message: "Processing {{ taskrun.value }}"
""",
        """\
id: for_each_json_string
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["a", "b"]'
    tasks:
      - id: value
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
""",
    )

    class Properties(FlowableProperties):
        values: LoopValues = dynamic(description="The values to loop over: a list or a JSON-array string.")
        concurrencyLimit: int = Field(
            1, ge=0, description="Value groups running at once: 1 = one after the other, 0 = unlimited."
        )
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run for each value.")

    @classmethod
    def graph_layout(cls, raw: Mapping[str, Any]) -> str:
        return "sequential" if raw.get("concurrencyLimit", 1) == 1 else "dynamic"

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from json_list_issue(raw.get("values"), ("values",))


class EachSequential(FlowableTask):
    """Deprecated: use `ForEach` (with the default `concurrencyLimit: 1`).

    Runs `tasks` for each value of `value`, one value after the other. `value` is a list or a
    JSON-array string; the current value is `{{ taskrun.value }}`.
    """

    type = "io.kestra.plugin.core.flow.EachSequential"
    aliases = ("io.kestra.core.tasks.flows.EachSequential",)
    title = "Loop sequentially (deprecated)"
    group = GROUP
    icon = "loop"
    layout = "sequential"
    planner = "each_sequential"
    deprecated = "io.kestra.plugin.core.flow.ForEach"
    examples = (
        """\
id: each_sequential
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.EachSequential
    value: ["value 1", "value 2"]
    tasks:
      - id: print
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
""",
    )

    class Properties(FlowableProperties):
        value: LoopValues = dynamic(description="The values to loop over: a list or a JSON-array string.")
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run for each value.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from json_list_issue(raw.get("value"), ("value",))


class EachParallel(FlowableTask):
    """Deprecated: use `ForEach` with `concurrencyLimit`.

    Runs `tasks` for every value of `value` in parallel, at most `concurrent` groups at once
    (`0` = no limit). Within a group, children still run one after the other.
    """

    type = "io.kestra.plugin.core.flow.EachParallel"
    aliases = ("io.kestra.core.tasks.flows.EachParallel",)
    title = "Loop in parallel (deprecated)"
    group = GROUP
    icon = "loop"
    layout = "dynamic"
    planner = "each_parallel"
    deprecated = "io.kestra.plugin.core.flow.ForEach"
    examples = (
        """\
id: each_parallel
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.EachParallel
    value: '["value 1", "value 2", "value 3"]'
    concurrent: 2
    tasks:
      - id: print
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
""",
    )

    class Properties(FlowableProperties):
        value: LoopValues = dynamic(description="The values to loop over: a list or a JSON-array string.")
        concurrent: int = Field(0, ge=0, description="Value groups running at once; 0 = unlimited.")
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run for each value.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        yield from json_list_issue(raw.get("value"), ("value",))


class CheckFrequency(Properties):
    """How often, and for how long, `WaitFor` re-runs its tasks."""

    maxIterations: int = Field(100, ge=1, description="Stop after this many iterations.")
    maxDuration: Duration = Field("PT1H", description="Stop after this much time.")
    interval: Duration = Field("PT1S", description="Pause between two iterations.")


class WaitFor(FlowableTask):
    """Run `tasks` again and again until `condition` becomes truthy.

    After each iteration the condition is rendered; the loop ends as soon as it is truthy
    (KESTRA.md §6.6), or when `checkFrequency.maxIterations` or `maxDuration` is reached. Reaching
    a limit ends the task in SUCCESS, unless `failOnMaxReached: true` makes it FAILED.

    Use it to poll: wait for a file, an API status or a KV value. Inside the loop,
    `{{ outputs.<this task>.iterationCount }}` is the number of finished iterations and each
    iteration increments the task run's `iteration`.

    Output: `iterationCount`.
    """

    type = "io.kestra.plugin.core.flow.WaitFor"
    title = "Loop until a condition holds"
    group = GROUP
    icon = "hourglass"
    layout = "sequential"
    planner = "wait_for"
    examples = (
        """\
id: wait_for
namespace: company.team
tasks:
  - id: poll
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.counter.values.count == '3' }}"
    checkFrequency:
      maxIterations: 10
      interval: PT1S
    failOnMaxReached: true
    tasks:
      - id: counter
        type: io.kestra.plugin.core.output.OutputValues
        values:
          count: "{{ outputs.poll.iterationCount + 1 }}"
""",
    )

    class Properties(FlowableProperties):
        tasks: list[TaskSpec] | None = task_list(required=True, description="Tasks run at each iteration.")
        condition: str = dynamic(description="Rendered after each iteration; the loop stops once truthy.")
        checkFrequency: CheckFrequency = Field(
            default_factory=CheckFrequency, description="Iteration limits and the pause between iterations."
        )
        failOnMaxReached: bool = Field(False, description="FAIL (instead of SUCCESS) when a limit is reached.")

    class Outputs(BaseModel):
        iterationCount: int | None = Field(None, description="How many iterations ran.")


PLUGINS: list[type[Plugin]] = [ForEach, EachSequential, EachParallel, WaitFor]
