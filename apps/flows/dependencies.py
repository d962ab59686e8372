"""Cross-flow dependencies: which flows start which (KESTRA.md §7.1 `…/dependencies`, §7.8).

Two relations, read from the flows' sources as saved:
- `FLOW_TASK`: a Subflow or ForEachItem task names another flow (edge: this flow → that flow);
- `FLOW_TRIGGER`: a Flow trigger listens to another flow, through `preconditions.flows` or an
  ExecutionFlow condition, at any depth of its conditions (edge: that flow → this flow).

A namespace or flow id written as an expression is unknown until run time and gives no edge.
Only flows the caller may read take part: the graph never names a flow they cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from apps.flows.models import Flow
from apps.flows.services import parsed
from apps.namespaces.permissions import Action, visible
from apps.plugins.registry import registry

CALLS = frozenset({"io.kestra.plugin.core.flow.Subflow", "io.kestra.plugin.core.flow.ForEachItem"})
FLOW_TRIGGER = "io.kestra.plugin.core.trigger.Flow"
EXECUTION_FLOW = "io.kestra.plugin.core.condition.ExecutionFlow"
TASK_LISTS = ("tasks", "errors", "finally", "afterExecution")

Key = tuple[str, str]


@dataclass(frozen=True)
class Edge:
    source: Key
    target: Key
    relation: str


def _canonical(type_name: Any) -> str | None:
    return registry.canonical(type_name) if isinstance(type_name, str) else None


def _typed(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping with a `type`, at any depth (tasks inside flowables, conditions inside conditions)."""
    if isinstance(value, dict):
        if "type" in value:
            yield value
        for item in value.values():
            yield from _typed(item)
    elif isinstance(value, list):
        for item in value:
            yield from _typed(item)


def _static(namespace: Any, flow_id: Any) -> Key | None:
    if isinstance(namespace, str) and isinstance(flow_id, str) and "{{" not in namespace + flow_id:
        return namespace, flow_id
    return None


def edges_of(namespace: str, flow_id: str, data: dict[str, Any]) -> list[Edge]:
    me = (namespace, flow_id)
    edges: list[Edge] = []
    for node in _typed([data.get(name) for name in TASK_LISTS]):
        if _canonical(node.get("type")) in CALLS and (target := _static(node.get("namespace"), node.get("flowId"))):
            edges.append(Edge(me, target, "FLOW_TASK"))
    for trigger in data.get("triggers") or []:
        if not isinstance(trigger, dict) or _canonical(trigger.get("type")) != FLOW_TRIGGER:
            continue
        upstreams = [f for f in (trigger.get("preconditions") or {}).get("flows") or [] if isinstance(f, dict)]
        upstreams += [c for c in _typed(trigger.get("conditions")) if _canonical(c.get("type")) == EXECUTION_FLOW]
        for upstream in upstreams:
            if source := _static(upstream.get("namespace"), upstream.get("flowId")):
                edges.append(Edge(source, me, "FLOW_TRIGGER"))
    return edges


def _all_edges(user: Any) -> tuple[set[Key], list[Edge]]:
    flows = visible(Flow.objects.filter(deleted=False), user, Action.READ)
    known: set[Key] = set()
    edges: list[Edge] = []
    for flow in flows.only("namespace", "flow_id", "source"):
        known.add((flow.namespace, flow.flow_id))
        edges += edges_of(flow.namespace, flow.flow_id, parsed(flow))
    return known, [e for e in edges if e.source in known and e.target in known]


def _reach(starts: Iterable[Key], edges: list[Edge], destination_only: bool, expand_all: bool) -> list[Edge]:
    """Edges out of `starts` (and into them unless `destination_only`), followed transitively
    with `expand_all`."""
    seen: set[Key] = set(starts)
    frontier = set(starts)
    chosen: dict[Edge, None] = {}
    while frontier:
        touched: set[Key] = set()
        for edge in edges:
            if edge.source in frontier or (not destination_only and edge.target in frontier):
                chosen[edge] = None
                touched |= {edge.source, edge.target}
        frontier = (touched - seen) if expand_all else set()
        seen |= touched
    return list(chosen)


def _uid(key: Key) -> str:
    return f"{key[0]}_{key[1]}"


def graph_json(starts: set[Key], edges: list[Edge]) -> dict[str, Any]:
    keys = sorted(starts | {e.source for e in edges} | {e.target for e in edges})
    return {"nodes": [{"uid": _uid(k), "namespace": k[0], "id": k[1]} for k in keys],
            "edges": [{"source": _uid(e.source), "target": _uid(e.target), "relation": e.relation}
                      for e in edges]}


def of_flow(user: Any, namespace: str, flow_id: str, *, destination_only: bool = False,
            expand_all: bool = False) -> dict[str, Any]:
    _, edges = _all_edges(user)
    start = {(namespace, flow_id)}
    return graph_json(start, _reach(start, edges, destination_only, expand_all))


def of_namespace(user: Any, namespace: str, *, destination_only: bool = False) -> dict[str, Any]:
    known, edges = _all_edges(user)
    starts = {k for k in known if k[0] == namespace}
    return graph_json(starts, _reach(starts, edges, destination_only, expand_all=False))
