"""Parents from outside the manifest, for children that only ever run under them.

Some flows of the manifest are asserted only as child executions of a flow the manifest leaves
out (the ForEachItem parents of `for-each-item-subflow` and `for-each-item-outputs-subflow`).
Their files are in `flows/valids/` all the same: this finds the one that calls the child, and
gives it the inputs Kestra's test gives it (ForEachItemCaseTest: a file of 102 lines of
left-padded numbers, batches of 4 rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from conformance_runner.manifest import Manifest, Scenario, _scenario

LINES = 102
"""Lines of the items file, as in Kestra's ForEachItemCaseTest."""
INT_INPUT = 4
"""An INT input of such a parent (the batch size of ForEachItemCaseTest)."""


def callers(manifest: Manifest, child: Scenario) -> list[tuple[Path, dict[str, Any]]]:
    """Flow files outside the manifest with a task that starts `child`'s flow, the ones the
    child's notes name first (in the order they name them)."""
    known = {str(v["file"]) for v in manifest.valids}
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted((manifest.flows_dir / "valids").glob("*.y*ml")):
        if f"valids/{path.name}" in known:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and any(_calls(task, child) for task in _tasks(data.get("tasks"))):
            found.append((path, data))
    expect = child.valid.get("expect")
    notes = str(expect.get("notes") or "") if isinstance(expect, dict) else ""
    return sorted(found, key=lambda item: _mentioned_at(notes, str(item[1].get("id"))))


def scenario(manifest: Manifest, path: Path, data: Mapping[str, Any], inputs: dict[str, Any]) -> Scenario:
    valid = {"file": str(path.relative_to(manifest.flows_dir)), "id": data["id"], "namespace": data["namespace"],
             "inputs": inputs, "inputs_mode": "validated", "expect": {}}
    return _scenario(valid, None, str(data["id"]), 0)


def inputs_for(data: Mapping[str, Any], write_file: Any) -> dict[str, Any]:
    """Values for the parent's declared inputs: the items file for FILE, the batch size for INT."""
    values: dict[str, Any] = {}
    for declared in data.get("inputs") or []:
        if not isinstance(declared, Mapping):
            continue
        kind = str(declared.get("type", "STRING")).upper()
        name = str(declared.get("id") or declared.get("name"))
        if kind == "FILE":
            values[name] = write_file("".join(f"{n:>20}\n" for n in range(LINES)))
        elif kind == "INT":
            values[name] = INT_INPUT
    return values


def _tasks(value: Any) -> Iterator[Mapping[str, Any]]:
    for task in value if isinstance(value, list) else []:
        if isinstance(task, Mapping):
            yield task
            for key in ("tasks", "errors", "then", "else", "finally"):
                yield from _tasks(task.get(key))


def _calls(task: Mapping[str, Any], child: Scenario) -> bool:
    return task.get("flowId") == child.flow_id and task.get("namespace") == child.namespace


def _mentioned_at(notes: str, flow_id: str) -> int:
    match = re.search(rf"(?<![\w-]){re.escape(flow_id)}(?![\w-])", notes)
    return match.start() if match else len(notes) + 1
