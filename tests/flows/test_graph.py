"""Topology graphs (apps/flows/graph.py): Kestra's FlowGraph shape, edge by edge.

Runs without Django. Loops, If and Subflow are exercised with test-only plugins in a private
registry, so these tests do not depend on which core plugins exist yet; the node, edge and
cluster counts asserted for Kestra's own test flows are the ones Kestra's `FlowGraphTest` asserts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from apps.core.errors import SourceInvalid
from apps.flows.graph import (
    GRAPH_CLUSTER_END,
    GRAPH_CLUSTER_ROOT,
    GRAPH_TASK,
    GRAPH_TRIGGER,
    SUBFLOW_GRAPH_TASK,
    build_graph,
    graph_summary,
)
from apps.flows.validation import apply_plugin_defaults
from apps.flows.yamlsource import load
from apps.plugins.registry import Registry
from apps.plugins.sdk import (
    ExecutableMixin,
    FlowableProperties,
    FlowableTask,
    RunnableTask,
    TaskProperties,
    TaskSpec,
    task_list,
)
from plugins.core.flow import Dag, Parallel, Sequential, Switch

VALIDS = Path("/work/shared/conformance/flows/valids")
LOG = "io.kestra.plugin.core.log.Log"
NULL = (None, None)


class _Loop(FlowableTask):
    """A ForEach-like loop: one group of `tasks` per value."""

    type = "weir.test.Loop"
    aliases = ("io.kestra.plugin.core.flow.ForEach", "io.kestra.plugin.core.flow.EachSequential",
               "io.kestra.plugin.core.flow.EachParallel")
    title = group = icon = "loop"
    layout = "dynamic"

    class Properties(FlowableProperties):
        values: Any = None
        tasks: list[TaskSpec] | None = task_list(required=True)


class _If(FlowableTask):
    type = "weir.test.If"
    title = group = icon = "if"
    layout = "choice"

    class Properties(FlowableProperties):
        condition: str = ""
        then: list[TaskSpec] | None = task_list(required=True)
        else_: list[TaskSpec] | None = Field(None, alias="else",
                                             json_schema_extra={"$slot": "tasks:list", "$required": False})


class _Subflow(ExecutableMixin, RunnableTask):
    type = "weir.test.Subflow"
    aliases = ("io.kestra.plugin.core.flow.Subflow",)
    title = group = icon = "subflow"

    class Properties(TaskProperties):
        namespace: str
        flowId: str
        tasks: list[TaskSpec] | None = task_list()


class _StaticRegistry(Registry):
    """A registry that never runs discovery: exactly the plugins a test registers."""

    def ensure_loaded(self) -> None:
        return None


def _registry() -> Registry:
    reg = _StaticRegistry()
    for plugin in (Sequential, Parallel, Switch, Dag, _Loop, _If, _Subflow):
        reg.register(plugin)
    return reg


REG = _registry()


def graph(text: str, reg: Registry = REG) -> dict[str, Any]:
    return build_graph(apply_plugin_defaults(load(text).data, reg), reg)


def edges(g: dict[str, Any]) -> set[tuple[str, str, str | None, str | None]]:
    return {(e["source"], e["target"], e["relation"]["relationType"], e["relation"]["value"])
            for e in g["edges"]}


def node(g: dict[str, Any], uid: str) -> dict[str, Any]:
    return next(n for n in g["nodes"] if n["uid"] == uid)


def cluster(g: dict[str, Any], uid: str) -> dict[str, Any]:
    return next(c for c in g["clusters"] if c["cluster"]["uid"] == uid)


def log(ident: str, indent: int) -> str:
    pad = " " * indent
    return f"{pad}- id: {ident}\n{pad}  type: {LOG}\n{pad}  message: hi\n"


def test_sequential_flow_is_a_chain_from_root_to_end() -> None:
    g = graph("id: f\nnamespace: n\ntasks:\n" + log("a", 2) + log("b", 2))
    assert edges(g) == {
        ("root._root", "root.a", *NULL),
        ("root.a", "root.b", "SEQUENTIAL", None),
        ("root.b", "root._end", *NULL),
    }
    assert [n["uid"] for n in g["nodes"]] == ["root._root", "root._end", "root.a", "root.b"]
    assert [n["type"] for n in g["nodes"]] == [GRAPH_CLUSTER_ROOT, GRAPH_CLUSTER_END, GRAPH_TASK, GRAPH_TASK]
    a = node(g, "root.a")
    assert (a["label"], a["pluginType"], a["relationType"], a["error"]) == ("a", LOG, "SEQUENTIAL", False)
    assert a["task"]["message"] == "hi" and a["taskRun"] is None and a["values"] is None
    assert g["clusters"] == []
    assert graph_summary(g) == {"nodes": 4, "edges": 3, "clusters": 0}
    json.dumps(g)


def test_sequential_flowable_is_its_own_cluster() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: group
    type: io.kestra.core.tasks.flows.Sequential
    tasks:
""" + log("x", 6) + log("y", 6) + log("after", 2))
    assert edges(g) == {
        ("root._root", "root.group._root", *NULL),
        ("root.group._root", "root.group", *NULL),
        ("root.group", "root.group.x", "SEQUENTIAL", None),
        ("root.group.x", "root.group.y", "SEQUENTIAL", None),
        ("root.group.y", "root.group._end", *NULL),
        ("root.group._end", "root.after", "SEQUENTIAL", None),
        ("root.after", "root._end", *NULL),
    }
    c = cluster(g, "cluster_root.group")
    assert c["nodes"] == ["root.group._root", "root.group._end", "root.group", "root.group.x", "root.group.y"]
    assert (c["parents"], c["start"], c["end"]) == ([], "root.group._root", "root.group._end")
    assert c["cluster"]["taskNode"]["uid"] == "root.group"
    assert c["cluster"]["relationType"] == "SEQUENTIAL"
    # an alias resolves to the canonical type
    assert node(g, "root.group")["pluginType"] == "io.kestra.plugin.core.flow.Sequential"


def test_parallel_fans_out_from_the_task_node_and_in_to_the_cluster_end() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: p
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
""" + log("a", 6) + log("b", 6))
    assert edges(g) == {
        ("root._root", "root.p._root", *NULL),
        ("root.p._root", "root.p", *NULL),
        ("root.p", "root.p.a", "PARALLEL", None),
        ("root.p", "root.p.b", "PARALLEL", None),
        ("root.p.a", "root.p._end", *NULL),
        ("root.p.b", "root.p._end", *NULL),
        ("root.p._end", "root._end", *NULL),
    }
    assert node(g, "root.p.a")["relationType"] == "PARALLEL"
    assert node(g, "root.p")["relationType"] == "PARALLEL"


def test_switch_has_one_choice_branch_per_case_and_defaults() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: s
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.x }}"
    cases:
      RED:
""" + log("r1", 8) + log("r2", 8) + """      BLUE:
""" + log("b1", 8) + """    defaults:
""" + log("d1", 6))
    assert edges(g) == {
        ("root._root", "root.s._root", *NULL),
        ("root.s._root", "root.s", *NULL),
        ("root.s", "root.s.r1", "CHOICE", "RED"),
        ("root.s.r1", "root.s.r2", "SEQUENTIAL", "RED"),
        ("root.s.r2", "root.s._end", *NULL),
        ("root.s", "root.s.b1", "CHOICE", "BLUE"),
        ("root.s.b1", "root.s._end", *NULL),
        ("root.s", "root.s.d1", "CHOICE", "defaults"),
        ("root.s.d1", "root.s._end", *NULL),
        ("root.s._end", "root._end", *NULL),
    }
    assert cluster(g, "cluster_root.s")["cluster"]["relationType"] == "CHOICE"


def test_if_branches_are_then_and_else() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: check
    type: weir.test.If
    condition: "{{ true }}"
    then:
""" + log("pos", 6) + """    else:
""" + log("neg", 6))
    assert {e for e in edges(g) if e[0] == "root.check"} == {
        ("root.check", "root.check.pos", "CHOICE", "then"),
        ("root.check", "root.check.neg", "CHOICE", "else"),
    }


def test_dag_edges_follow_depends_on() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: d
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: extract, type: io.kestra.plugin.core.log.Log, message: e}
      - task: {id: clean, type: io.kestra.plugin.core.log.Log, message: c}
        dependsOn: [extract]
      - task: {id: enrich, type: io.kestra.plugin.core.log.Log, message: e}
        dependsOn: [extract]
      - task: {id: load, type: io.kestra.plugin.core.log.Log, message: l}
        dependsOn: [clean, enrich]
      - task: {id: audit, type: io.kestra.plugin.core.log.Log, message: a}
""")
    assert edges(g) == {
        ("root._root", "root.d._root", *NULL),
        ("root.d._root", "root.d", *NULL),
        ("root.d", "root.d.extract", "PARALLEL", None),
        ("root.d", "root.d.audit", "PARALLEL", None),
        ("root.d.extract", "root.d.clean", "PARALLEL", None),
        ("root.d.extract", "root.d.enrich", "PARALLEL", None),
        ("root.d.clean", "root.d.load", "PARALLEL", None),
        ("root.d.enrich", "root.d.load", "PARALLEL", None),
        ("root.d.load", "root.d._end", *NULL),
        ("root.d.audit", "root.d._end", *NULL),
        ("root.d._end", "root._end", *NULL),
    }
    # the node shows the task itself, not its Dag entry
    assert "dependsOn" not in node(g, "root.d.load")["task"]


def test_depends_on_outside_a_dag_lays_the_list_out_as_a_dag() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - {id: a, type: io.kestra.plugin.core.log.Log, message: a}
  - {id: b, type: io.kestra.plugin.core.log.Log, message: b, dependsOn: [a]}
  - {id: c, type: io.kestra.plugin.core.log.Log, message: c, dependsOn: [a]}
  - id: both
    type: io.kestra.plugin.core.flow.Sequential
    dependsOn: [b, c]
    tasks:
""" + log("inner", 6))
    assert edges(g) == {
        ("root._root", "root.a", "PARALLEL", None),
        ("root.a", "root.b", "PARALLEL", None),
        ("root.a", "root.c", "PARALLEL", None),
        ("root.b", "root.both._root", "PARALLEL", None),
        ("root.c", "root.both._root", "PARALLEL", None),
        ("root.both._root", "root.both", *NULL),
        ("root.both", "root.both.inner", "SEQUENTIAL", None),
        ("root.both.inner", "root.both._end", *NULL),
        ("root.both._end", "root._end", *NULL),
    }


def test_depends_on_inside_a_parallel_and_a_switch_case() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: p
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {id: a, type: io.kestra.plugin.core.log.Log, message: a}
      - {id: b, type: io.kestra.plugin.core.log.Log, message: b, dependsOn: [a]}
      - {id: c, type: io.kestra.plugin.core.log.Log, message: c}
  - id: s
    type: io.kestra.plugin.core.flow.Switch
    value: x
    cases:
      x:
        - {id: x1, type: io.kestra.plugin.core.log.Log, message: a}
        - {id: x2, type: io.kestra.plugin.core.log.Log, message: b, dependsOn: [x1]}
""")
    got = edges(g)
    assert {e for e in got if e[0].startswith("root.p") and e[0] != "root.p._root"} == {
        ("root.p", "root.p.a", "PARALLEL", None),
        ("root.p", "root.p.c", "PARALLEL", None),
        ("root.p.a", "root.p.b", "PARALLEL", None),
        ("root.p.b", "root.p._end", *NULL),
        ("root.p.c", "root.p._end", *NULL),
        ("root.p._end", "root.s._root", "SEQUENTIAL", None),
    }
    assert ("root.s", "root.s.x1", "CHOICE", "x") in got
    assert ("root.s.x1", "root.s.x2", "PARALLEL", "x") in got
    assert ("root.s.x2", "root.s._end", *NULL) in got


def test_errors_hang_off_the_root_with_error_relations_and_flags() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: work
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
""" + log("step", 6) + """    errors:
""" + log("local", 6) + """errors:
""" + log("alert", 2) + """  - id: cleanup
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
""" + log("rm", 6))
    assert edges(g) == {
        ("root._root", "root.work._root", *NULL),
        ("root.work._root", "root.work", *NULL),
        ("root.work", "root.work.step", "SEQUENTIAL", None),
        ("root.work.step", "root.work._end", *NULL),
        ("root.work._root", "root.work.local", "ERROR", None),
        ("root.work.local", "root.work._end", *NULL),
        ("root.work._end", "root._end", *NULL),
        ("root._root", "root.alert", "ERROR", None),
        ("root.alert", "root.cleanup._root", "ERROR", None),
        ("root.cleanup._root", "root.cleanup", *NULL),
        ("root.cleanup", "root.cleanup.rm", "SEQUENTIAL", None),
        ("root.cleanup.rm", "root.cleanup._end", *NULL),
        ("root.cleanup._end", "root._end", *NULL),
    }
    flagged = {n["uid"] for n in g["nodes"] if n["error"]}
    assert flagged == {"root.work.local", "root.alert", "root.cleanup", "root.cleanup._root",
                       "root.cleanup._end", "root.cleanup.rm"}
    assert node(g, "root.alert")["branchType"] == "ERROR"
    assert node(g, "root.alert")["relationType"] == "ERROR"
    assert cluster(g, "cluster_root.cleanup")["cluster"]["error"] is True
    assert cluster(g, "cluster_root.work")["cluster"]["error"] is False


def test_finally_and_after_execution_follow_the_tasks_and_errors() -> None:
    g = graph("id: f\nnamespace: n\ntasks:\n" + log("a", 2) + "errors:\n" + log("e", 2)
              + "finally:\n" + log("fin", 2) + "afterExecution:\n" + log("after", 2))
    assert edges(g) == {
        ("root._root", "root.a", *NULL),
        ("root._root", "root.e", "ERROR", None),
        ("root.a", "root.fin", *NULL),
        ("root.e", "root.fin", *NULL),
        ("root.fin", "root.after", *NULL),
        ("root.after", "root._end", *NULL),
    }
    assert node(g, "root.fin")["branchType"] == "FINALLY"
    assert node(g, "root.after")["branchType"] == "AFTER_EXECUTION"
    assert not node(g, "root.fin")["error"]


def test_triggers_cluster_links_to_the_root() -> None:
    g = graph("""
id: f
namespace: n
tasks:
""" + log("a", 2) + """triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: abc
    disabled: true
""")
    assert edges(g) == {
        ("root.Triggers._root", "root.Triggers.hourly", *NULL),
        ("root.Triggers.hourly", "root.Triggers._end", *NULL),
        ("root.Triggers._root", "root.Triggers.hook", *NULL),
        ("root.Triggers.hook", "root.Triggers._end", *NULL),
        ("root.Triggers._end", "root._root", *NULL),
        ("root._root", "root.a", *NULL),
        ("root.a", "root._end", *NULL),
    }
    hourly = node(g, "root.Triggers.hourly")
    assert hourly["type"] == GRAPH_TRIGGER
    assert hourly["triggerDeclaration"]["cron"] == "0 * * * *"
    assert "task" not in hourly
    assert node(g, "root.Triggers.hook")["disabled"] is True
    c = cluster(g, "cluster_root.Triggers")
    assert c["cluster"]["taskNode"] is None
    assert c["nodes"] == ["root.Triggers._root", "root.Triggers._end", "root.Triggers.hourly",
                          "root.Triggers.hook"]


def test_nested_flowables_list_their_ancestor_clusters() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: mid
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: inner
            type: io.kestra.plugin.core.flow.Parallel
            tasks:
""" + log("leaf", 14))
    parents = {c["cluster"]["uid"]: c["parents"] for c in g["clusters"]}
    assert parents == {
        "cluster_root.outer": [],
        "cluster_root.outer.mid": ["cluster_root.outer"],
        "cluster_root.outer.mid.inner": ["cluster_root.outer", "cluster_root.outer.mid"],
    }
    assert list(parents) == ["cluster_root.outer", "cluster_root.outer.mid", "cluster_root.outer.mid.inner"]
    assert "cluster_root.outer.mid" in cluster(g, "cluster_root.outer")["nodes"]
    assert "root.outer.mid.inner.leaf" in cluster(g, "cluster_root.outer.mid.inner")["nodes"]
    assert ("root.outer", "root.outer.mid._root", "PARALLEL", None) in edges(g)
    assert ("root.outer.mid._end", "root.outer._end", *NULL) in edges(g)


def test_loops_use_dynamic_relations() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2]
    tasks:
""" + log("a", 6) + log("b", 6))
    assert edges(g) == {
        ("root._root", "root.each._root", *NULL),
        ("root.each._root", "root.each", *NULL),
        ("root.each", "root.each.a", "DYNAMIC", None),
        ("root.each.a", "root.each.b", "DYNAMIC", None),
        ("root.each.b", "root.each._end", *NULL),
        ("root.each._end", "root._end", *NULL),
    }
    assert node(g, "root.each")["relationType"] == "DYNAMIC"


def test_subflow_is_a_subflow_node_not_expanded() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: other
    flowId: child
    tasks:
""" + log("never_drawn", 6))
    assert [n["uid"] for n in g["nodes"]] == ["root._root", "root._end", "root.call"]
    call = node(g, "root.call")
    assert (call["type"], call["pluginType"]) == (SUBFLOW_GRAPH_TASK, "weir.test.Subflow")
    assert g["clusters"] == []


def test_unknown_types_are_plain_tasks_and_disabled_tasks_are_shown() -> None:
    g = graph("""
id: f
namespace: n
tasks:
  - id: mystery
    type: com.example.Mystery
    tasks:
""" + log("hidden", 6) + """  - id: skipped
    type: io.kestra.plugin.core.flow.Sequential
    disabled: true
    tasks:
""" + log("child", 6))
    mystery = node(g, "root.mystery")
    assert (mystery["type"], mystery["pluginType"], mystery["disabled"]) == (GRAPH_TASK, "com.example.Mystery", False)
    assert not any(n["uid"] == "root.mystery.hidden" for n in g["nodes"])
    assert node(g, "root.skipped")["disabled"] is True
    assert node(g, "root.skipped.child")["disabled"] is False
    assert ("root.mystery", "root.skipped._root", "SEQUENTIAL", None) in edges(g)


def test_empty_flowable_and_empty_flow_still_connect() -> None:
    g = graph("id: f\nnamespace: n\ntasks:\n  - {id: s, type: io.kestra.plugin.core.flow.Switch, value: x}\n")
    assert ("root.s", "root.s._end", *NULL) in edges(g)
    assert edges(build_graph({"id": "f", "namespace": "n"}, REG)) == {("root._root", "root._end", *NULL)}


# Kestra's FlowGraphTest asserts these (nodes, edges, clusters) for its own test flows.
KESTRA_COUNTS = {
    "return.yaml": (5, 4, 0),
    "sequential.yaml": (19, 18, 3),
    "errors.yaml": (17, 17, 4),
    "parallel.yaml": (12, 16, 1),
    "parallel-nested.yaml": (19, 23, 3),
    "switch.yaml": (17, 20, 3),
    "each-sequential-nested.yaml": (13, 12, 2),
    "each-parallel-nested.yaml": (11, 10, 2),
    "all-flowable.yaml": (38, 42, 7),
    "trigger-flow-listener.yaml": (6, 5, 1),
    "trigger-flow-listener-no-inputs.yaml": (7, 7, 1),
    "dag.yaml": (11, 13, 1),
    "task-flow.yaml": (6, 5, 1),
}


@pytest.mark.parametrize("name", sorted(KESTRA_COUNTS))
def test_counts_match_kestra_for_its_own_flows(name: str) -> None:
    path = VALIDS / name
    if not path.exists():
        pytest.skip(f"{name} is not in the conformance set")
    summary = graph_summary(graph(path.read_text()))
    assert (summary["nodes"], summary["edges"], summary["clusters"]) == KESTRA_COUNTS[name]


def _check_consistent(g: dict[str, Any]) -> None:
    uids = [n["uid"] for n in g["nodes"]]
    known = set(uids)
    cluster_uids = {c["cluster"]["uid"] for c in g["clusters"]}
    for e in g["edges"]:
        assert e["source"] in known and e["target"] in known, e
    for c in g["clusters"]:
        assert c["start"] in known and c["end"] in known
        assert set(c["nodes"]) <= known | cluster_uids
        assert set(c["parents"]) <= cluster_uids


def test_every_conformance_flow_builds() -> None:
    from apps.plugins.registry import registry

    files = sorted([*VALIDS.glob("*.yaml"), *VALIDS.glob("*.yml")])
    if not files:
        pytest.skip("no conformance flows")
    built = 0
    for path in files:
        try:
            data = load(path.read_text()).data
        except SourceInvalid:
            continue
        if not isinstance(data, dict):
            continue
        for reg in (registry, REG):
            g = build_graph(apply_plugin_defaults(data, reg), reg)
            _check_consistent(g)
            json.dumps(g)
        built += 1
    assert built > 100


def test_a_thousand_tasks_build_well_under_50_ms() -> None:
    tasks = [{"id": f"g{j}", "type": "io.kestra.plugin.core.flow.Parallel",
              "tasks": [{"id": f"t{j}_{i}", "type": LOG, "message": "m"} for i in range(50)]}
             for j in range(10)]
    tasks += [{"id": f"d{i}", "type": LOG, "message": "m", **({"dependsOn": [f"d{i - 1}"]} if i else {})}
              for i in range(490)]
    flow = {"id": "big", "namespace": "n", "tasks": tasks}
    build_graph(flow, REG)
    best = min(_timed(lambda: build_graph(flow, REG)) for _ in range(5))
    assert graph_summary(build_graph(flow, REG))["nodes"] == 2 + 10 * 53 + 490
    assert best < 0.05, f"{best * 1000:.1f} ms"


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
