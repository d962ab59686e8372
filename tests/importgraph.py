"""Import-graph questions the layout tests ask (grimp counts function-level and `TYPE_CHECKING`
imports too)."""

from __future__ import annotations

from collections.abc import Iterable

import grimp


def cycles(graph: grimp.ImportGraph, prefix: str) -> list[set[str]]:
    """Strongly connected sets of more than one module among the modules under `prefix`."""
    modules = sorted(m for m in graph.modules if m == prefix or m.startswith(prefix + "."))
    inside = set(modules)

    def edges(module: str) -> Iterable[str]:
        return (m for m in graph.find_modules_directly_imported_by(module) if m in inside)

    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in edges(module):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in modules:
        if module not in order:
            visit(module)
    return found
