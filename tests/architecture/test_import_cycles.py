"""No import cycle among the modules of any app, nor between apps (docs/adr/0020, 0028).

The graph is grimp's (the library under import-linter) and counts every import, function-level
ones included: a cycle hidden inside a function still ties the modules together. Each app is
checked on its own modules; then the apps themselves, one node each (import-linter's `apps`
contract orders them; this check names the cycle when one appears). A failure names the
modules (or apps) of every cycle and the imports that close it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from functools import cache
from itertools import pairwise
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in (ROOT / "apps").glob("*/__init__.py"))


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("apps", cache_dir=None)


def strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append(sorted(component))
    return found


def one_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest import path from the component's first module back to itself."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(edges[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return component


def describe(cycle: list[str]) -> str:
    lines = []
    for importer, imported in pairwise(cycle):
        details = graph().get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"l.{d['line_number']} {d['line_contents']}" for d in details)
        lines.append(f"  {importer} -> {imported}  ({where})")
    return "\n".join(lines)


@pytest.mark.parametrize("app", APPS)
def test_no_import_cycle_inside_the_app(app: str) -> None:
    package = f"apps.{app}"
    modules = {m for m in graph().modules if m == package or m.startswith(package + ".")}
    edges: dict[str, set[str]] = defaultdict(set)
    for module in modules:
        edges[module] = graph().find_modules_directly_imported_by(module) & modules
    cycles = strongly_connected(modules, edges)
    report = "\n\n".join(f"cycle among {len(c)} modules: {', '.join(c)}\n{describe(one_cycle(c, edges))}"
                         for c in cycles)
    assert not cycles, f"import cycles inside {package}:\n{report}"


def test_the_check_finds_a_cycle() -> None:
    """The detector itself: a two-module cycle and a self-import are found, a chain is not."""
    edges: dict[str, set[str]] = defaultdict(set, {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"d"}})
    assert strongly_connected({"a", "b", "c", "d"}, edges) == [["a", "b"], ["d"]]
    assert one_cycle(["a", "b"], edges) == ["a", "b", "a"]


def app_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


@cache
def app_edges() -> dict[str, set[str]]:
    """App -> the apps it imports (any module, function-level imports included)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph().modules:
        if module.count(".") == 0:
            continue
        edges.setdefault(app_of(module), set())  # every app is a node, even one importing nothing
        for imported in graph().find_modules_directly_imported_by(module):
            if imported.count(".") and app_of(imported) != app_of(module):
                edges[app_of(module)].add(app_of(imported))
    return edges


def describe_between_apps(cycle: list[str]) -> str:
    lines = []
    for importer, imported in pairwise(cycle):
        pairs = sorted(graph().find_matching_direct_imports(import_expression=f"{importer}.** -> {imported}.**"),
                       key=lambda p: (p["importer"], p["imported"]))
        shown = ", ".join(f"{p['importer']} -> {p['imported']}" for p in pairs[:3])
        more = f" (+{len(pairs) - 3} more)" if len(pairs) > 3 else ""
        lines.append(f"  {importer} -> {imported}: {shown}{more}")
    return "\n".join(lines)


def test_no_import_cycle_between_apps() -> None:
    edges = app_edges()
    cycles = strongly_connected(set(edges), edges)
    report = "\n\n".join(f"cycle among {len(c)} apps: {', '.join(c)}\n{describe_between_apps(one_cycle(c, edges))}"
                         for c in cycles)
    assert not cycles, f"import cycles between apps:\n{report}"
