"""Every core flowable, driven through the pure planner (KESTRA.md §3.1, §5.4).

For each flowable: which children exist, in which order and how many at once they start, and
how the parent ends. The last section replays conformance flows (shared/conformance) whose
expectations only need the core debug/log/execution/output tasks, against the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.engine.states import State
from tests.engine.engine_harness import (
    Harness,
    check_expect,
    execute,
    flow,
    illegal_moves,
    render_services_shim,  # noqa: F401 (autouse fixture)
)

S = State


def values_of(h: Harness, task_id: str) -> list[str | None]:
    return [r.value for r in h.runs(task_id)]


# -- Sequential ----------------------------------------------------------------------------------


def test_sequential_nests_and_runs_one_child_at_a_time() -> None:
    h = execute("""
        tasks:
          - id: outer
            type: Sequential
            tasks:
              - id: a
                type: Return
                format: a
              - id: inner
                type: Sequential
                tasks:
                  - id: b
                    type: Return
                    format: b
                  - id: c
                    type: Return
                    format: c
              - id: d
                type: Return
                format: d
          - id: e
            type: Return
            format: e
    """)
    assert h.claimed == ["a", "b", "c", "d", "e"]
    assert h.max_active == {"outer": 1, "inner": 1}
    assert {r.task_id: r.state for r in h.runs()} == dict.fromkeys(["outer", "a", "inner", "b", "c", "d", "e"], S.SUCCESS)
    assert h.one("b").parent_id == h.one("inner").id
    assert h.ex.state == S.SUCCESS
    assert illegal_moves(h) == []


def test_sequential_ends_with_the_worst_child_state() -> None:
    h = execute("""
        tasks:
          - id: seq
            type: Sequential
            tasks:
              - id: a
                type: Return
                format: a
              - id: b
                type: Return
                format: b
    """, script={"a": S.WARNING})
    assert h.states() == {"seq": ["WARNING"], "a": ["WARNING"], "b": ["SUCCESS"]}
    assert h.ex.state == S.WARNING


# -- Parallel ------------------------------------------------------------------------------------


PARALLEL = """
    tasks:
      - id: par
        type: Parallel
        {concurrent}
        tasks:
          - id: t1
            type: Return
            format: "{{{{ task.id }}}}"
          - id: t2
            type: Return
            format: "{{{{ task.id }}}}"
          - id: t3
            type: Return
            format: "{{{{ task.id }}}}"
          - id: t4
            type: Return
            format: "{{{{ task.id }}}}"
          - id: t5
            type: Return
            format: "{{{{ task.id }}}}"
      - id: after
        type: Return
        format: after
"""


def test_parallel_starts_every_child_at_once_without_a_limit() -> None:
    h = Harness(flow(PARALLEL.format(concurrent=""))).start()
    assert [r.task_id for r in h.runs()] == ["par", "t1", "t2", "t3", "t4", "t5"]
    assert len(h.queue) == 5
    h.run()
    assert h.max_active["par"] == 5
    assert h.state("par") == S.SUCCESS and h.state("after") == S.SUCCESS
    assert len(h.runs()) == 7


@pytest.mark.parametrize("limit", [1, 2, 3], ids=["1", "2", "3"])
def test_parallel_honours_its_concurrent_limit(limit: int) -> None:
    h = Harness(flow(PARALLEL.format(concurrent=f"concurrent: {limit}"))).start()
    assert len(h.queue) == limit
    h.run()
    assert h.max_active["par"] == limit
    assert h.claimed == ["t1", "t2", "t3", "t4", "t5", "after"]
    assert h.ex.state == S.SUCCESS


@pytest.mark.parametrize("holder", ["retry", "pause"], ids=["retrying", "paused"])
def test_a_retrying_or_paused_child_holds_a_parallel_slot(holder: str) -> None:
    """Non-terminal is what counts against `concurrent` (RETRYING and PAUSED included), and the
    other children keep going meanwhile (KESTRA.md §5.3 step 4 only stops on KILLING/QUEUED)."""
    lines = (["type: Return", "format: t1", "retry: {type: constant, interval: PT1H, maxAttempt: 2}"]
             if holder == "retry" else ["type: Pause", "delay: PT1H"])
    first = "\n                ".join(lines)
    h = Harness(flow(f"""
        tasks:
          - id: par
            type: Parallel
            concurrent: 2
            tasks:
              - id: t1
                {first}
              - id: t2
                type: Return
                format: t2
              - id: t3
                type: Return
                format: t3
              - id: t4
                type: Return
                format: t4
    """), script={"t1": [S.FAILED, S.SUCCESS]}).start().run(delays=False)
    assert h.state("t1") == (S.RETRYING if holder == "retry" else S.PAUSED)
    assert {t: h.state(t) for t in ("t2", "t3", "t4")} == dict.fromkeys(("t2", "t3", "t4"), S.SUCCESS)
    assert h.max_active["par"] == 2
    h.run()
    assert h.state("par") == S.SUCCESS
    assert h.status() == S.SUCCESS


def test_parallel_with_a_failing_child_fails_and_creates_no_more_children() -> None:
    h = execute(PARALLEL.format(concurrent="concurrent: 2"), script={"t2": S.FAILED})
    assert h.state("par") == S.FAILED
    assert "after" not in h.states()
    assert {"t4", "t5"}.isdisjoint(h.states())
    assert h.ex.state == S.FAILED


# -- Switch --------------------------------------------------------------------------------------


SWITCH = """
    inputs:
      - id: choice
        type: STRING
    tasks:
      - id: switch
        type: Switch
        value: "{{{{ inputs.choice }}}}"
        cases:
          FIRST:
            - id: first
              type: Return
              format: first
          2:
            - id: two
              type: Return
              format: two
          true:
            - id: truthy
              type: Return
              format: truthy
        {defaults}
      - id: after
        type: Return
        format: "{{{{ outputs.switch.value }}}} {{{{ outputs.switch.defaults }}}}"
"""
DEFAULTS = """defaults:
          - id: fallback
            type: Return
            format: fallback"""

CASES = [("FIRST", "first", False), ("2", "two", False), ("true", "truthy", False), ("other", "fallback", True)]


@pytest.mark.parametrize(("choice", "task", "defaults"), CASES, ids=[c for c, _, _ in CASES])
def test_switch_runs_the_matching_case_or_defaults(choice: str, task: str, defaults: bool) -> None:
    h = execute(SWITCH.format(defaults=DEFAULTS), inputs={"choice": choice})
    assert h.states() == {"switch": ["SUCCESS"], task: ["SUCCESS"], "after": ["SUCCESS"]}
    assert h.one("switch").outputs == {"value": choice, "defaults": defaults}
    assert h.one("after").outputs == {"value": f"{choice} {str(defaults).lower()}"}
    assert h.one(task).parent_id == h.one("switch").id


def test_switch_without_match_and_without_defaults_fails() -> None:
    """valids/fail-on-switch.yaml: the Switch itself FAILED, 1 task run."""
    h = execute(SWITCH.format(defaults=""), inputs={"choice": "nothing"})
    assert h.states() == {"switch": ["FAILED"]}
    assert h.ex.state == S.FAILED


def test_switch_value_render_error_fails_it() -> None:
    """valids/variables-invalid.yaml: an undefined variable in `value` fails the Switch."""
    h = execute("""
        tasks:
          - id: switch
            type: Switch
            value: "{{ outputs.nothing.value }}"
            cases:
              x:
                - id: x
                  type: Return
                  format: x
    """)
    assert h.states() == {"switch": ["FAILED"]}
    assert h.ex.state == S.FAILED


def test_switch_case_failure_fails_the_switch() -> None:
    h = execute("""
        tasks:
          - id: switch
            type: Switch
            value: a
            cases:
              a:
                - id: boom
                  type: Fail
    """)
    assert h.states() == {"switch": ["FAILED"], "boom": ["FAILED"]}


# -- If ------------------------------------------------------------------------------------------


IF = """
    inputs:
      - id: flag
        type: STRING
    tasks:
      - id: if
        type: If
        condition: "{{{{ inputs.flag }}}}"
        then:
          - id: then1
            type: Return
            format: then1
          - id: then2
            type: Return
            format: then2
        {otherwise}
      - id: after
        type: Return
        format: "{{{{ outputs.if.evaluationResult }}}}"
"""
ELSE = """else:
          - id: else1
            type: Return
            format: else1"""


@pytest.mark.parametrize(("flag", "expected"), [("true", ["then1", "then2"]), ("false", ["else1"]),
                                                ("0", ["else1"]), ("yes", ["then1", "then2"])],
                         ids=["true", "false", "zero", "yes"])
def test_if_runs_then_or_else(flag: str, expected: list[str]) -> None:
    h = execute(IF.format(otherwise=ELSE), inputs={"flag": flag})
    assert h.claimed == [*expected, "after"]
    result = expected[0].startswith("then")
    assert h.one("if").outputs == {"evaluationResult": result}
    assert h.one("after").outputs == {"value": str(result).lower()}
    assert h.state("if") == S.SUCCESS and h.ex.state == S.SUCCESS


def test_if_false_without_else_succeeds_with_no_children() -> None:
    """valids/if-without-else.yaml."""
    h = execute(IF.format(otherwise=""), inputs={"flag": "false"})
    assert h.states() == {"if": ["SUCCESS"], "after": ["SUCCESS"]}


def test_if_condition_render_error_fails_it() -> None:
    h = execute("""
        tasks:
          - id: if
            type: If
            condition: "{{ nothing.here }}"
            then:
              - id: t
                type: Return
                format: t
    """)
    assert h.states() == {"if": ["FAILED"]}
    assert h.ex.state == S.FAILED


def test_if_branch_failure_fails_it() -> None:
    h = execute(IF.format(otherwise=ELSE), inputs={"flag": "true"}, script={"then1": S.FAILED})
    assert h.states() == {"if": ["FAILED"], "then1": ["FAILED"]}


# -- ForEach -------------------------------------------------------------------------------------


FOREACH = """
    tasks:
      - id: each
        type: ForEach
        values: {values}
        {limit}
        tasks:
          - id: first
            type: Return
            format: "{{{{ taskrun.value }}}}"
          - id: second
            type: Return
            format: "{{{{ taskrun.value }}}}-{{{{ outputs.first[taskrun.value].value }}}}"
      - id: after
        type: Return
        format: done
"""


def test_foreach_default_limit_runs_one_value_group_at_a_time() -> None:
    h = execute(FOREACH.format(values='["a", "b", "c"]', limit=""))
    assert h.claimed == ["first", "second", "first", "second", "first", "second", "after"]
    assert values_of(h, "first") == ["a", "b", "c"]
    assert h.max_active["each"] == 1
    assert len(h.runs()) == 8
    assert h.ex.state == S.SUCCESS


def test_foreach_without_limit_starts_the_first_task_of_every_group() -> None:
    """valids/foreach-concurrent-no-limit.yaml: concurrencyLimit 0 = all groups at once."""
    h = Harness(flow(FOREACH.format(values='["a", "b", "c"]', limit="concurrencyLimit: 0"))).start()
    assert [(r.task_id, r.value) for r in h.runs()][1:] == [("first", "a"), ("first", "b"), ("first", "c")]
    h.run()
    assert h.max_active["each"] == 3
    assert len(h.runs()) == 8
    assert h.ex.state == S.SUCCESS


@pytest.mark.parametrize("limit", [1, 2], ids=["1", "2"])
def test_foreach_concurrency_limit_bounds_active_groups(limit: int) -> None:
    h = execute(FOREACH.format(values='["a", "b", "c", "d"]', limit=f"concurrencyLimit: {limit}"))
    assert h.max_active["each"] == limit
    assert len(h.runs("second")) == 4
    assert h.ex.state == S.SUCCESS


def test_foreach_children_carry_the_value_and_outputs_nest_by_it() -> None:
    h = execute(FOREACH.format(values='["a", "b"]', limit=""))
    assert [r.outputs for r in h.runs("second")] == [{"value": "a-a"}, {"value": "b-b"}]
    assert h.outputs_map()["first"] == {"a": {"value": "a"}, "b": {"value": "b"}}
    assert all(r.parent_id == h.one("each").id for r in h.runs("first"))


def test_foreach_runs_each_distinct_value_once() -> None:
    h = execute(FOREACH.format(values='["a", "b", "a", "b", "c"]', limit=""))
    assert values_of(h, "first") == ["a", "b", "c"]


def test_foreach_values_as_a_yaml_list_of_mixed_types() -> None:
    """Non-string values are stored as strings; maps as compact JSON (KESTRA.md §3.1)."""
    h = execute(FOREACH.format(values='[1, true, "x", {"k": "v"}, [1, 2]]', limit="concurrencyLimit: 0"))
    assert values_of(h, "first") == ["1", "true", "x", '{"k":"v"}', "[1,2]"]
    assert h.ex.state == S.SUCCESS


def test_foreach_map_values_from_a_json_string_reach_taskrun_value_as_json() -> None:
    h = execute("""
        tasks:
          - id: each
            type: ForEach
            values: '[{"key": "k1", "value": "v1"}, "plain"]'
            tasks:
              - id: show
                type: Return
                format: "{{ taskrun.value is json ? fromJson(taskrun.value).key : taskrun.value }}"
    """)
    assert values_of(h, "show") == ['{"key":"k1","value":"v1"}', "plain"]
    assert [r.outputs for r in h.runs("show")] == [{"value": "k1"}, {"value": "plain"}]


def test_foreach_with_a_null_value_fails_before_any_child() -> None:
    """valids/each-null.yaml: 1 task run, FAILED, Kestra's message."""
    h = execute("""
        tasks:
          - id: 1_each
            type: ForEach
            values: '[1, null, {"key": "my-key", "value": "my-value"}]'
            tasks:
              - id: 1-1
                type: Return
                format: "{{ taskrun.value }}"
          - id: 2_end
            type: Return
            format: never
    """)
    assert h.states() == {"1_each": ["FAILED"]}
    assert h.ex.state == S.FAILED
    assert any("Found '1' null values on Each, with values=[1, null, {key=my-key, value=my-value}]" in m
               for m in h.log_messages("ERROR"))


def test_foreach_over_an_empty_list_succeeds() -> None:
    """valids/each-empty.yaml: 1_each + 2_end, SUCCESS."""
    h = execute(FOREACH.format(values="[]", limit=""))
    assert h.states() == {"each": ["SUCCESS"], "after": ["SUCCESS"]}


@pytest.mark.parametrize("values", ['"not json"', '"{{ nothing.here }}"', '"{\\"a\\": 1}"'],
                         ids=["not-json", "render-error", "not-a-list"])
def test_foreach_with_bad_values_fails(values: str) -> None:
    h = execute(FOREACH.format(values=values, limit=""))
    assert h.states() == {"each": ["FAILED"]}
    assert h.ex.state == S.FAILED


def test_foreach_child_failure_fails_the_loop_and_stops_later_groups() -> None:
    h = execute(FOREACH.format(values='["a", "b"]', limit=""),
                script={"first": lambda h, run: S.FAILED if run.value == "a" else None})
    assert h.states() == {"each": ["FAILED"], "first": ["FAILED"]}
    assert h.ex.state == S.FAILED


def test_nested_foreach_value_chain() -> None:
    h = execute("""
        tasks:
          - id: outer
            type: ForEach
            values: ["x", "y"]
            tasks:
              - id: inner
                type: ForEach
                values: ["1", "2"]
                tasks:
                  - id: leaf
                    type: Return
                    format: "{{ parents[0].taskrun.value }}{{ taskrun.value }}"
    """)
    assert [r.outputs for r in h.runs("leaf")] == [{"value": v} for v in ("x1", "x2", "y1", "y2")]
    assert h.one("leaf", "y", "2").outputs == {"value": "y2"}
    assert len(h.runs()) == 7


def test_parent_is_the_closest_ancestor_with_a_value_or_outputs() -> None:
    """KESTRA.md §3.1: deeper than a direct child, the loop value is `parent.taskrun.value`;
    ancestors with neither a value nor outputs (a plain Sequential) are not in `parents`."""
    h = execute("""
        tasks:
          - id: each
            type: ForEach
            values: ["x"]
            tasks:
              - id: group
                type: Sequential
                tasks:
                  - id: inner
                    type: Sequential
                    tasks:
                      - id: leaf
                        type: Return
                        format: "{{ parent.taskrun.value }} {{ parents | length }}"
    """)
    assert h.one("leaf").outputs == {"value": "x 1"}
    assert h.ex.state == S.SUCCESS


# -- EachSequential / EachParallel -----------------------------------------------------------------


def test_each_sequential_runs_values_in_order() -> None:
    h = execute("""
        tasks:
          - id: each
            type: EachSequential
            value: ["v1", "v2", "v3"]
            tasks:
              - id: a
                type: Return
                format: "{{ taskrun.value }}"
              - id: b
                type: Return
                format: "{{ taskrun.value }}"
    """)
    assert h.claimed == ["a", "b"] * 3
    assert values_of(h, "a") == ["v1", "v2", "v3"]
    assert h.max_active["each"] == 1
    assert len(h.runs()) == 7 and h.ex.state == S.SUCCESS


def test_each_parallel_starts_everything_and_honours_concurrent() -> None:
    body = """
        tasks:
          - id: each
            type: EachParallel
            value: '["v1", "v2", "v3", "v4"]'
            {concurrent}
            tasks:
              - id: a
                type: Return
                format: "{{{{ taskrun.value }}}}"
    """
    unlimited = execute(body.format(concurrent=""))
    assert unlimited.max_active["each"] == 4
    assert len(unlimited.runs()) == 5 and unlimited.ex.state == S.SUCCESS
    limited = execute(body.format(concurrent="concurrent: 2"))
    assert limited.max_active["each"] == 2
    assert values_of(limited, "a") == ["v1", "v2", "v3", "v4"]


def test_each_parallel_with_integer_values() -> None:
    """valids/each-parallel-Integer.yml."""
    h = execute("""
        tasks:
          - id: each
            type: EachParallel
            value: [1, 2, 3]
            tasks:
              - id: a
                type: Return
                format: "{{ taskrun.value }}"
    """)
    assert [r.outputs for r in h.runs("a")] == [{"value": "1"}, {"value": "2"}, {"value": "3"}]
    assert h.ex.state == S.SUCCESS


# -- Dag and the dependsOn extension ---------------------------------------------------------------


DAG = """
    tasks:
      - id: dag
        type: Dag
        {concurrent}
        tasks:
          - task:
              id: task1
              type: Return
              format: "{{{{ task.id }}}}"
          - task:
              id: task2
              type: Return
              format: "{{{{ task.id }}}}"
            dependsOn: [task1]
          - task:
              id: task3
              type: Return
              format: "{{{{ task.id }}}}"
            dependsOn: [task1]
          - task:
              id: task4
              type: Return
              format: "{{{{ task.id }}}}"
            dependsOn: [task2]
          - task:
              id: task5
              type: Return
              format: "{{{{ task.id }}}}"
            dependsOn: [task4, task3]
          - task:
              id: task6
              type: Return
              format: "{{{{ task.id }}}}"
"""


def test_dag_respects_depends_on() -> None:
    h = Harness(flow(DAG.format(concurrent=""))).start()
    assert [r.task_id for r in h.runs()] == ["dag", "task1", "task6"]
    h.run()
    order = h.claimed
    for task, deps in {"task2": ["task1"], "task3": ["task1"], "task4": ["task2"], "task5": ["task4", "task3"]}.items():
        assert all(order.index(dep) < order.index(task) for dep in deps), order
    assert len(h.runs()) == 7
    assert h.ex.state == S.SUCCESS


def test_dag_task_starts_once_its_dependencies_are_terminal() -> None:
    """A dependent is created only after every dependency ended, never before."""
    h = Harness(flow(DAG.format(concurrent=""))).start()
    while h.work_one():
        runs = {r.task_id: r for r in h.runs()}
        if "task5" in runs:
            assert runs["task4"].state == S.SUCCESS and runs["task3"].state == S.SUCCESS
        if "task2" in runs:
            assert runs["task1"].state == S.SUCCESS


def test_dag_concurrent_limit() -> None:
    h = execute(DAG.format(concurrent="concurrent: 1"))
    assert h.max_active["dag"] == 1
    assert len(h.runs()) == 7 and h.ex.state == S.SUCCESS


def test_dag_failure_stops_dependents() -> None:
    h = execute(DAG.format(concurrent=""), script={"task2": S.FAILED})
    assert "task4" not in h.states() and "task5" not in h.states()
    assert h.state("dag") == S.FAILED
    assert h.ex.state == S.FAILED


def test_depends_on_extension_on_a_plain_task_list() -> None:
    """Weir's `dependsOn` on ordinary tasks turns the list into a DAG (tasks without it start at once)."""
    h = Harness(flow("""
        tasks:
          - id: a
            type: Return
            format: a
          - id: b
            type: Return
            format: "{{ outputs.a.value }}b"
            dependsOn: [a]
          - id: c
            type: Return
            format: c
          - id: d
            type: Return
            format: "{{ outputs.b.value }}{{ outputs.c.value }}d"
            dependsOn: [b, c]
    """)).start()
    assert [r.task_id for r in h.runs()] == ["a", "c"]
    h.run()
    assert h.one("d").outputs == {"value": "abcd"}
    assert h.claimed.index("d") > max(h.claimed.index("b"), h.claimed.index("c"))
    assert h.ex.state == S.SUCCESS


def test_depends_on_a_disabled_task_does_not_block_forever() -> None:
    """A disabled task is removed from the plan (KESTRA.md §2.1), so it cannot be waited for:
    the dependency counts as met instead of leaving the execution RUNNING with nothing to do."""
    h = execute("""
        tasks:
          - id: switched_off
            type: Return
            format: never
            disabled: true
          - id: after
            type: Return
            format: after
            dependsOn: [switched_off]
    """)
    assert h.states() == {"after": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_dag_dependency_on_a_disabled_task_does_not_block_forever() -> None:
    h = execute("""
        tasks:
          - id: dag
            type: Dag
            tasks:
              - task:
                  id: off
                  type: Return
                  format: never
                  disabled: true
              - task:
                  id: after
                  type: Return
                  format: after
                dependsOn: [switched_off]
    """)
    assert h.states() == {"dag": ["SUCCESS"], "after": ["SUCCESS"]}
    assert h.ex.state == S.SUCCESS


def test_depends_on_extension_inside_a_sequential() -> None:
    h = execute("""
        tasks:
          - id: seq
            type: Sequential
            tasks:
              - id: late
                type: Return
                format: late
                dependsOn: [early]
              - id: early
                type: Return
                format: early
    """)
    assert h.claimed == ["early", "late"]
    assert h.state("seq") == S.SUCCESS


# -- AllowFailure --------------------------------------------------------------------------------


ALLOW_FAILURE = """
    tasks:
      - id: wrapper
        type: AllowFailure
        {extra}
        tasks:
          - id: ok
            type: Return
            format: ok
          - id: boom
            type: Fail
          - id: never
            type: Return
            format: never
        errors:
          - id: local
            type: Log
            message: local
      - id: next
        type: Return
        format: next
    errors:
      - id: global
        type: Log
        message: never
"""


def test_allow_failure_turns_a_failing_child_into_warning_and_continues() -> None:
    h = execute(ALLOW_FAILURE.format(extra=""))
    assert h.states() == {"wrapper": ["WARNING"], "ok": ["SUCCESS"], "boom": ["FAILED"], "local": ["SUCCESS"],
                          "next": ["SUCCESS"]}
    assert h.ex.state == S.WARNING


def test_allow_failure_with_allow_warning_ends_success() -> None:
    h = execute(ALLOW_FAILURE.format(extra="allowWarning: true"))
    assert h.state("wrapper") == S.SUCCESS
    assert h.ex.state == S.SUCCESS


def test_allow_failure_without_failure_is_success() -> None:
    h = execute(ALLOW_FAILURE.format(extra=""), script={"boom": S.SUCCESS})
    assert h.state("wrapper") == S.SUCCESS
    assert h.ex.state == S.SUCCESS


# -- conformance flows (shared/conformance/manifest.yaml) -------------------------------------------


CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
CASES_USED = [
    "allow-failure", "allow-failure/crash", "dag", "disable-flowable", "disable-simple", "each-empty", "each-null",
    "each-parallel-Integer", "each-parallel-nested", "each-parallel", "each-sequential", "each-switch",
    "fail-on-switch", "flow-with-array-outputs", "flow-with-outputs", "flowable-with-parent-fail",
    "foreach-concurrent-no-limit", "foreach-concurrent-parallel", "foreach-non-concurrent", "full",
    "if-condition", "if-condition/truthy-string", "if-condition/truthy-int-1", "if-condition/falsy-bool",
    "if-condition/falsy-string", "if-condition/falsy-int-0", "if-condition/falsy-minus-0", "if-in-flowable", "if",
    "inputs-large", "log-to-file", "logs", "minimal", "npe-labels-update-task", "parallel-nested", "parallel",
    "pause-delay-from-input", "pause-timeout", "primitive-labels-flow", "restart-each",
    "restart-each/fail-first-level", "restart-each/fail-second-level", "restart-each/no-inputs-replay",
    "restart_always_failed", "restart_last_failed", "restart_local_errors", "restart_pause_last_failed",
    "retry-expo", "retry-fail", "retry-failed-flow-attempts", "retry-failed-flow-duration",
    "retry-failed-task-attempts", "retry-failed-task-duration", "retry-failed", "retry-flowable-child",
    "retry-flowable-parallel", "retry-flowable", "retry-random", "retry-success-first-attempt", "retry-success",
    "sequential-with-global-errors", "sequential-with-local-errors", "sequential", "switch", "switch/second",
    "switch/third", "switch/default", "switch-impossible", "task-allow-failure-flowable",
    "task-allow-failure-runnable", "task-runif", "trigger-flow-with-pause", "variables-invalid",
]


def _conformance_cases() -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    if not (CONFORMANCE / "manifest.yaml").exists():
        return {}
    manifest = yaml.safe_load((CONFORMANCE / "manifest.yaml").read_text())
    cases = {}
    for entry in manifest["valids"]:
        source = (CONFORMANCE / "flows" / entry["file"]).read_text()
        cases[entry["file"].split("/")[-1].rsplit(".", 1)[0]] = (source, entry.get("inputs") or {}, entry["expect"])
        for more in entry.get("more_cases") or []:
            key = f"{entry['file'].split('/')[-1].rsplit('.', 1)[0]}/{more['name']}"
            cases[key] = (source, more.get("inputs") or {}, more.get("expect") or {})
    return cases


_CASES = _conformance_cases()


@pytest.mark.parametrize("name", CASES_USED, ids=CASES_USED)
def test_conformance_flow_matches_the_manifest(name: str) -> None:
    if not _CASES:
        pytest.skip("shared/conformance is not available")
    source, inputs, expect = _CASES[name]
    h = Harness(source, inputs=inputs).go()
    assert check_expect(h, expect) == [], json.dumps(h.states())
    assert illegal_moves(h) == []


PAUSED_CASES = ["pause", "pause_no_tasks", "pause_on_resume_optional"]


@pytest.mark.parametrize("name", PAUSED_CASES, ids=PAUSED_CASES)
def test_conformance_pause_flow_waits_then_resumes(name: str) -> None:
    """The manifest's "wait until PAUSED, then resume" scenarios."""
    if not _CASES:
        pytest.skip("shared/conformance is not available")
    source, inputs, expect = _CASES[name]
    h = Harness(source, inputs=inputs).go()
    assert h.ex.state.value == expect["state_when_paused"]
    if "taskruns_when_paused" in expect:
        assert len(h.runs()) == expect["taskruns_when_paused"]
    for task_id, state in (expect.get("tasks_when_paused") or {}).items():
        assert h.state(task_id).value == state
    h.resume()
    h.run()
    assert check_expect(h, expect) == [], json.dumps(h.states())
    assert illegal_moves(h) == []
