"""The topology graph of a flow, in the shape Kestra's `FlowGraph` has (KESTRA.md §7.8).

The server computes the graph and the editor only lays it out (dagre in `@kestra-io/ui-libs`), so
this module reproduces Kestra's `GraphUtils` closely enough that the UI's rules — "a cluster's uid
is `cluster_` + its task node's uid", "a cluster end sits one dot below its task node",
"`root.Triggers` is the triggers cluster", node kinds read from the Java class name — hold as they
do against Kestra. In particular the synthetic connector edges (cluster root → task node, last
task → cluster end, root → first top-level task) carry a null relation type, as in Kestra.

Children are found only through plugin metadata: `Plugin.slots` says where child tasks live,
`FlowableTask.graph_layout(raw)` says how they relate, and `ExecutableMixin` marks tasks that start
other flows. No core type name is hard-coded, so plugins added later are drawn correctly.

Pure Python (no Django): the CLI and tests build graphs too. Nodes reference the flow's own task
dicts rather than copies (a 1000-task flow builds in a few milliseconds); do not mutate them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.plugins.registry import Registry, registry
from apps.plugins.sdk import ExecutableMixin, FlowableTask, Plugin, Slot, SlotKind, SlotShape

__all__ = [
    "GRAPH_CLUSTER", "GRAPH_CLUSTER_END", "GRAPH_CLUSTER_ROOT", "GRAPH_TASK", "GRAPH_TRIGGER",
    "SUBFLOW_GRAPH_TASK", "build_graph", "graph_summary",
]

_PKG = "io.kestra.core.models.hierarchies."
GRAPH_TASK = _PKG + "GraphTask"
SUBFLOW_GRAPH_TASK = _PKG + "SubflowGraphTask"
GRAPH_TRIGGER = _PKG + "GraphTrigger"
GRAPH_CLUSTER = _PKG + "GraphCluster"
GRAPH_CLUSTER_ROOT = _PKG + "GraphClusterRoot"
GRAPH_CLUSTER_END = _PKG + "GraphClusterEnd"

SEQUENTIAL, PARALLEL, CHOICE, ERROR, DYNAMIC = "SEQUENTIAL", "PARALLEL", "CHOICE", "ERROR", "DYNAMIC"
CLUSTER_PREFIX = "cluster_"
# Task ids must start with a letter or digit, so these segments can never collide with a task.
ROOT_SUFFIX, END_SUFFIX = "._root", "._end"

_LAYOUT_RELATION = {"sequential": SEQUENTIAL, "parallel": PARALLEL, "choice": CHOICE,
                    "dag": DYNAMIC, "dynamic": DYNAMIC}
"""The relation type of a flowable's cluster and task node; Kestra gives Dag clusters DYNAMIC."""

_TRAILING = {"finally": "FINALLY", "afterExecution": "AFTER_EXECUTION"}
"""Slot names that run after the main branch (and its errors), with Kestra's branch type."""

Relation = tuple[str | None, str | None]
"""(relationType, value) of an edge."""

Entry = tuple[dict[str, Any], Any]
"""A task and its `dependsOn` (from the task itself, or from its Dag entry)."""

_NO_RELATION: Relation = (None, None)


@dataclass
class _Scope:
    """The cluster being filled: where new nodes get their uid prefix and membership.

    `members` is the very list published as the cluster's `nodes`, so it fills in as we go.
    """

    path: str
    members: list[str]
    parents: list[str]


@dataclass
class _Builder:
    """One pass over one flow; collects the three output lists in Kestra's order."""

    reg: Registry
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    _plugins: dict[str, type[Plugin] | None] = field(default_factory=dict)

    def plugin(self, type_name: Any) -> type[Plugin] | None:
        """The plugin for a type (aliases resolved), memoised: lookups dominate big flows."""
        if not isinstance(type_name, str):
            return None
        try:
            return self._plugins[type_name]
        except KeyError:
            found = self._plugins[type_name] = self.reg.get(type_name)
            return found

    def edge(self, source: str, target: str, relation: Relation) -> None:
        self.edges.append({"source": source, "target": target,
                           "relation": {"relationType": relation[0], "value": relation[1]}})

    def dot(self, uid: str, kind: str, scope: _Scope, branch: str | None) -> str:
        """A synthetic cluster root or end node."""
        self.nodes.append({"uid": uid, "type": kind, "error": branch == "ERROR", "branchType": branch,
                           "taskRun": None, "values": None})
        scope.members.append(uid)
        return uid

    def task_node(self, raw: Mapping[str, Any], uid: str, kind: str, relation_type: str | None,
                  plugin: type[Plugin] | None, branch: str | None, *, add: bool = True) -> dict[str, Any]:
        node = {"uid": uid, "type": kind, "error": branch == "ERROR", "branchType": branch,
                "task": raw, "relationType": relation_type, "taskRun": None, "values": None,
                "label": str(raw.get("id")), "pluginType": plugin.type if plugin else raw.get("type"),
                "disabled": raw.get("disabled") is True}
        if add:
            self.nodes.append(node)
        return node

    # -- flow level ------------------------------------------------------------------------

    def flow(self, flow: Mapping[str, Any]) -> None:
        top = _Scope("root", [], [])
        start = self.dot("root" + ROOT_SUFFIX, GRAPH_CLUSTER_ROOT, top, None)
        end = self.dot("root" + END_SUFFIX, GRAPH_CLUSTER_END, top, None)
        triggers = [t for t, _ in _entries(flow.get("triggers"))]
        if triggers:
            self.edge(self.triggers(triggers, top), start, _NO_RELATION)
        tails = self.fill(_entries(flow.get("tasks")), top, [start], _NO_RELATION, (SEQUENTIAL, None),
                          "sequential", SEQUENTIAL, None)
        errors = _entries(flow.get("errors"))
        if errors:
            tails = tails + self.fill(errors, top, [start], (ERROR, None), (ERROR, None), "sequential",
                                      ERROR, "ERROR")
        for name, branch in _TRAILING.items():
            items = _entries(flow.get(name))
            if items:
                tails = self.fill(items, top, tails, _NO_RELATION, (SEQUENTIAL, None), "sequential",
                                  SEQUENTIAL, branch)
        for tail in dict.fromkeys(tails):
            self.edge(tail, end, _NO_RELATION)

    def triggers(self, triggers: list[dict[str, Any]], parent: _Scope) -> str:
        """The `Triggers` cluster (no task node); returns its end, which links to the root start."""
        path = parent.path + ".Triggers"
        scope = self.open_cluster(path, parent, None, None, None)
        start = self.dot(path + ROOT_SUFFIX, GRAPH_CLUSTER_ROOT, scope, None)
        end = self.dot(path + END_SUFFIX, GRAPH_CLUSTER_END, scope, None)
        for raw in triggers:
            uid = f"{path}.{raw.get('id')}"
            plugin = self.plugin(raw.get("type"))
            self.nodes.append({"uid": uid, "type": GRAPH_TRIGGER, "error": False, "branchType": None,
                               "triggerDeclaration": raw, "trigger": None, "taskRun": None, "values": None,
                               "label": str(raw.get("id")),
                               "pluginType": plugin.type if plugin else raw.get("type"),
                               "disabled": raw.get("disabled") is True})
            scope.members.append(uid)
            self.edge(start, uid, _NO_RELATION)
            self.edge(uid, end, _NO_RELATION)
        return end

    def open_cluster(self, path: str, parent: _Scope, relation_type: str | None,
                     task_node: dict[str, Any] | None, branch: str | None) -> _Scope:
        """Register a sub-cluster (pre-order, as Kestra lists them) and return its scope."""
        uid = CLUSTER_PREFIX + path
        scope = _Scope(path, [], [*parent.parents, uid])
        cluster = {"uid": uid, "type": GRAPH_CLUSTER, "error": branch == "ERROR", "branchType": branch,
                   "relationType": relation_type, "taskNode": task_node}
        self.clusters.append({"cluster": cluster, "nodes": scope.members, "parents": parent.parents,
                              "start": path + ROOT_SUFFIX, "end": path + END_SUFFIX})
        parent.members.append(uid)
        return scope

    # -- task lists ------------------------------------------------------------------------

    def fill(self, entries: Sequence[Entry], scope: _Scope, prev: list[str], first: Relation, rest: Relation,
             mode: str, node_relation: str, branch: str | None) -> list[str]:
        """Lay out one task list after the `prev` nodes; return the tails that link onwards.

        `mode` is sequential (a chain: `first` relation into the first task, `rest` between
        tasks), parallel (every task from `prev`, every task a tail) or dag. Any list in which a
        task declares `dependsOn` is laid out as a DAG, whatever its container (Weir extension).
        """
        if mode == "dag" or any(deps for _, deps in entries):
            return self.dag(entries, scope, prev, first, branch)
        tails = prev
        out: list[str] = []
        relation = first
        for raw, _ in entries:
            head, tail = self.task(raw, scope, node_relation, branch)
            for source in tails:
                self.edge(source, head, relation)
            if mode == "parallel":
                out.append(tail)
            else:
                tails, relation = [tail], rest
        return out if mode == "parallel" and out else tails

    def dag(self, entries: Sequence[Entry], scope: _Scope, prev: list[str],
            first: Relation, branch: str | None) -> list[str]:
        """Edges follow `dependsOn`: roots start from `prev`, leaves are the tails.

        Unknown ids, self-references and cycles are validation errors; here they are simply
        ignored so a graph can still be drawn for a flow being edited.
        """
        relation: Relation = (ERROR if branch == "ERROR" else PARALLEL, first[1])
        entry_relation = first if first[0] in (CHOICE, ERROR) else relation
        built: dict[str, tuple[str, str]] = {}
        placed: list[tuple[str, str, list[str]]] = []
        for raw, deps in entries:
            head, tail = self.task(raw, scope, SEQUENTIAL, branch)
            ident = str(raw.get("id"))
            built.setdefault(ident, (head, tail))
            placed.append((ident, head, [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []))
        depended: set[str] = set()
        for ident, head, deps in placed:
            known = [d for d in dict.fromkeys(deps) if d in built and d != ident]
            depended.update(known)
            if not known:
                for source in prev:
                    self.edge(source, head, entry_relation)
            for dep in known:
                self.edge(built[dep][1], head, relation)
        tails = [tail for ident, (_, tail) in built.items() if ident not in depended]
        return tails or ([] if placed else prev)

    # -- one task --------------------------------------------------------------------------

    def task(self, raw: dict[str, Any], scope: _Scope, node_relation: str,
             branch: str | None) -> tuple[str, str]:
        """Add a task (a node, or a cluster for a flowable); return (entry uid, exit uid)."""
        uid = f"{scope.path}.{raw.get('id')}"
        plugin = self.plugin(raw.get("type"))
        if plugin is not None and issubclass(plugin, ExecutableMixin):
            self.task_node(raw, uid, SUBFLOW_GRAPH_TASK, node_relation, plugin, branch)
        elif plugin is not None and issubclass(plugin, FlowableTask):
            return self.flowable(raw, uid, scope, plugin, branch)
        else:
            self.task_node(raw, uid, GRAPH_TASK, node_relation, plugin, branch)
        scope.members.append(uid)
        return uid, uid

    def flowable(self, raw: dict[str, Any], uid: str, parent: _Scope, plugin: type[FlowableTask],
                 branch: str | None) -> tuple[str, str]:
        """A flowable task's own cluster: root → task node → children → end, errors off the root."""
        layout = plugin.graph_layout(raw)
        relation_type = _LAYOUT_RELATION.get(layout, SEQUENTIAL)
        node = self.task_node(raw, uid, GRAPH_TASK, relation_type, plugin, branch, add=False)
        scope = self.open_cluster(uid, parent, relation_type, node, branch)
        start = self.dot(uid + ROOT_SUFFIX, GRAPH_CLUSTER_ROOT, scope, branch)
        end = self.dot(uid + END_SUFFIX, GRAPH_CLUSTER_END, scope, branch)
        self.nodes.append(node)  # after root and end, in Kestra's order
        scope.members.append(uid)
        self.edge(start, uid, _NO_RELATION)

        main: list[Slot] = []
        errors: list[Slot] = []
        trailing: list[Slot] = []
        for slot in plugin.slots:
            if slot.kind != SlotKind.TASKS:
                continue
            (errors if slot.is_errors else trailing if slot.name in _TRAILING else main).append(slot)

        tails: list[str] = []
        if layout == "choice":
            for slot in main:
                for value, items in _branches(slot, raw.get(slot.name)):
                    tails += self.fill(items, scope, [uid], (CHOICE, value), (SEQUENTIAL, value),
                                       "dag" if slot.shape == SlotShape.DAG else "sequential",
                                       SEQUENTIAL, branch)
            tails = tails or [uid]
        else:
            mode, first, rest = {
                "parallel": ("parallel", (PARALLEL, None), (PARALLEL, None)),
                "dag": ("dag", (PARALLEL, None), (PARALLEL, None)),
                "dynamic": ("sequential", (DYNAMIC, None), (DYNAMIC, None)),
            }.get(layout, ("sequential", (relation_type, None), (SEQUENTIAL, None)))
            tails = [uid]
            for slot in main:
                for key, items in _branches(slot, raw.get(slot.name)):
                    value = key if slot.shape == SlotShape.MAP else None  # only map keys label edges
                    tails = self.fill(items, scope, tails, (first[0], value), (rest[0], value),
                                      "dag" if slot.shape == SlotShape.DAG else mode,
                                      PARALLEL if mode == "parallel" else SEQUENTIAL, branch)
        for slot in errors:
            items = _entries(raw.get(slot.name))
            if items:
                tails = tails + self.fill(items, scope, [start], (ERROR, None), (ERROR, None),
                                          "sequential", ERROR, "ERROR")
        for slot in trailing:
            items = _entries(raw.get(slot.name))
            if items:
                tails = self.fill(items, scope, tails, _NO_RELATION, (SEQUENTIAL, None), "sequential",
                                  SEQUENTIAL, branch or _TRAILING[slot.name])
        for tail in dict.fromkeys(tails):  # empty branches all fall through to the task node
            self.edge(tail, end, _NO_RELATION)
        return start, end


def _entries(value: Any) -> list[Entry]:
    """The tasks of a plain list, each with its own `dependsOn`; non-mappings are skipped."""
    if not isinstance(value, list):
        return []
    return [(task, task.get("dependsOn")) for task in value if isinstance(task, dict)]


def _branches(slot: Slot, value: Any) -> Iterable[tuple[str | None, list[Entry]]]:
    """The task lists of one slot, each with its branch value (a case key, or the slot name).

    Dag entries are unwrapped to `(task, dependsOn)` pairs, so `fill` lays out a Dag and a plain
    list with `dependsOn` the same way, and nodes show the task itself, as Kestra's do.
    """
    if slot.shape == SlotShape.MAP:
        if isinstance(value, dict):
            for key, items in value.items():
                yield str(key), _entries(items)
    elif slot.shape == SlotShape.DAG:
        if isinstance(value, list):
            yield slot.name, [(e["task"], e.get("dependsOn")) for e in value
                              if isinstance(e, dict) and isinstance(e.get("task"), dict)]
    elif isinstance(value, list):
        yield slot.name, _entries(value)


def build_graph(flow: Mapping[str, Any], reg: Registry = registry) -> dict[str, Any]:
    """Kestra's `FlowGraph` of a parsed, validated flow (plugin defaults merged), as JSON-ready dicts.

    Returns `{"nodes": [...], "edges": [...], "clusters": [...]}`. The root cluster itself is
    not listed in `clusters` (Kestra does not list it either); its synthetic start and end are
    `root._root` and `root._end`.
    """
    builder = _Builder(reg)
    builder.flow(flow)
    return {"nodes": builder.nodes, "edges": builder.edges, "clusters": builder.clusters}


def graph_summary(graph: Mapping[str, Any]) -> dict[str, int]:
    """Counts of nodes, edges and clusters: the numbers Kestra's own graph tests assert."""
    return {key: len(graph.get(key) or ()) for key in ("nodes", "edges", "clusters")}
