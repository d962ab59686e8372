"""List every import from a lower app to a higher one, for the layer order of the `apps` contract.

    .venv/bin/python scripts/upward_imports.py [--order cli,ui,...]

The order is read from `[tool.importlinter]` in pyproject.toml (contract id `apps`), or given
with `--order` (top first, siblings joined by `:`) to count a tree against an order it does not
declare yet. The graph is grimp's, so imports inside functions and under `TYPE_CHECKING` count.
Prints one line per import and the total; exits 1 when there is any. docs/adr/0028 records the
figures before and after the apps were layered.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def declared_order() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in config if c["id"] == "apps")
    return [[name.strip().removeprefix("apps.") for name in layer.replace("|", ":").split(":")] for layer in layers]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", help="top first, comma-separated; siblings joined by ':'")
    args = parser.parse_args(argv)
    order = ([layer.split(":") for layer in args.order.split(",")] if args.order else declared_order())
    rank = {app: index for index, layer in enumerate(order) for app in layer}
    graph = grimp.build_graph("apps", cache_dir=None)

    def app(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 and parts[1] in rank else None

    count = 0
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            low, high = app(module), app(imported)
            if low is None or high is None or rank[high] >= rank[low]:
                continue
            for detail in graph.get_import_details(importer=module, imported=imported):
                count += 1
                print(f"{low} -> {high}: {module}:{detail['line_number']} {detail['line_contents']}")
    print(f"upward imports: {count}")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
