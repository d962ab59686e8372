"""The conformance runner depends on Weir, never the reverse, and has no import cycle (docs/adr/0023)."""

from __future__ import annotations

import grimp

from tests.importgraph import cycles


def test_the_product_never_imports_the_runner() -> None:
    graph = grimp.build_graph("apps", "plugins", "config", "conformance_runner", include_external_packages=False,
                              cache_dir=None)
    product = [m for m in graph.modules if m.split(".")[0] in ("apps", "plugins", "config")]
    offenders = [(m, sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith("conformance_runner")))
                 for m in product]
    assert [pair for pair in offenders if pair[1]] == []
    assert graph.find_modules_directly_imported_by("conformance_runner.run") & {"conformance_runner.harness"} == set()
    assert cycles(graph, "conformance_runner") == []
