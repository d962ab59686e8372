"""Which top-level context variables an expression can read, so a host may skip building the
costly ones (`outputs` and `tasks` walk every task run of the execution).

The answer is None, meaning "any of them", whenever the template calls a function, filter or
test that receives the whole render context (`render`, `renderOnce`, `currentEachOutput`,
`printContext`…): those read variables the text does not name.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import meta, nodes
from jinja2.utils import _PassArg

from .environment import TEMPLATE_CACHE_SIZE, default_environment
from .translate import translate


def _reads_context(function: Any) -> bool:
    return _PassArg.from_obj(function) is _PassArg.context


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def context_names(source: str) -> frozenset[str] | None:
    """The top-level names `source` reads (functions included), or None when it may read any."""
    if "{" not in source:
        return frozenset()
    environment = default_environment()
    try:
        tree = environment.parse(translate(source))
    except Exception:  # an invalid template fails when rendered: let that render say why
        return None
    names = meta.find_undeclared_variables(tree)
    for name in {node.name for node in tree.find_all(nodes.Name)}:  # functions are Names too
        function = environment.globals.get(name)
        if function is not None and _reads_context(function):
            return None
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        table = environment.filters if isinstance(node, nodes.Filter) else environment.tests
        function = table.get(node.name)
        if function is None or _reads_context(function):
            return None
    return frozenset(names)
