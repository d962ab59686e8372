"""Reading a conformance manifest into scenarios.

A scenario is a valid flow whose `expect` is not `parse-only`, or one of its `more_cases`
(`<id>/<case name>`). A case inherits what it does not say from its flow entry (inputs, inputs
mode, execution labels, preconditions, scenario text): the manifest writes a case as the
difference from the main run. A case's own HTTP phrase without a URL uses the main run's URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INHERITED = ("inputs", "inputs_mode", "execution_labels", "preconditions")


class ManifestError(Exception):
    """The manifest cannot be read: the only error that makes the command exit non-zero."""


@dataclass(frozen=True)
class Scenario:
    id: str
    valid: dict[str, Any]
    case: dict[str, Any] | None
    expect: dict[str, Any]
    inputs: dict[str, Any]
    inputs_mode: str
    execution_labels: dict[str, Any]
    preconditions: str
    text: str
    base_text: str
    actions: tuple[str, ...]
    position: int

    @property
    def valid_id(self) -> str:
        return str(self.valid["id"])

    @property
    def namespace(self) -> str:
        return str(self.valid["namespace"])

    @property
    def flow_id(self) -> str:
        return str(self.valid["id"])

    @property
    def source_test(self) -> str:
        entry = self.case if self.case is not None else self.valid
        return str(entry.get("source_test") or "")

    @property
    def tests(self) -> frozenset[str]:
        """The Kestra tests behind this scenario (`A -> B` names a test and the case it delegates to)."""
        return frozenset(part.strip() for part in self.source_test.split("->") if part.strip())

    @property
    def own_inputs(self) -> bool:
        """Whether a case states its own inputs (cases that do not repeat the main run's)."""
        return self.case is None or "inputs" in self.case or "inputs_mode" in self.case

    def depends_on(self, kind: str) -> list[str]:
        """`depends_on` targets of a kind (`subflow`, `listens-to`) as `ns/flowId`, static ones only."""
        found = []
        for item in self.valid.get("depends_on") or []:
            head, _, rest = str(item).partition(":")
            if head == kind and "{{" not in rest:
                found.append(rest.split(" ")[0])
        return found


@dataclass
class Manifest:
    path: Path
    flows_dir: Path
    valids: list[dict[str, Any]]
    scenarios: list[Scenario] = field(default_factory=list)

    def flow_file(self, valid: dict[str, Any]) -> Path:
        return self.flows_dir / str(valid["file"])

    def select(self, only: list[str] | None) -> list[Scenario]:
        if not only:
            return list(self.scenarios)
        wanted = set(only)
        return [s for s in self.scenarios if s.id in wanted]

    def scenarios_of(self, namespace: str, flow_id: str) -> list[Scenario]:
        return [s for s in self.scenarios if s.namespace == namespace and s.flow_id == flow_id]

    def valid(self, namespace: str, flow_id: str) -> dict[str, Any] | None:
        return next((v for v in self.valids if v.get("namespace") == namespace and v.get("id") == flow_id), None)

    def runs_of(self, valid: dict[str, Any]) -> list[Scenario]:
        """The scenarios of a flow, or, for a parse-only flow, a plain run without inputs."""
        own = self.scenarios_of(str(valid["namespace"]), str(valid["id"]))
        return own or [_scenario(valid, None, str(valid["id"]), 0)]


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _expectations(value: Any) -> dict[str, Any]:
    """The `expect` map with every known key in its canonical spelling (expect.canonical_key);
    unknown keys stay as written, so the check names them."""
    from conformance_runner.expect import canonical_key, unknown_keys

    raw = _mapping(value)
    unknown = set(unknown_keys(raw))
    return {key if key in unknown else canonical_key(key): item for key, item in raw.items()}


def _scenario(valid: dict[str, Any], case: dict[str, Any] | None, sid: str, position: int) -> Scenario:
    entry = case if case is not None else valid
    merged = {key: entry[key] if key in entry else valid.get(key) for key in INHERITED}
    expect = entry.get("expect")
    actions = [*(entry.get("actions") or []), *(_expectations(expect).get("actions") or [])]
    return Scenario(
        id=sid, valid=valid, case=case, expect=_expectations(expect),
        inputs=_mapping(merged["inputs"]), inputs_mode=str(merged["inputs_mode"] or "none"),
        execution_labels=_mapping(merged["execution_labels"]), preconditions=str(merged["preconditions"] or ""),
        text=str(entry.get("scenario") or valid.get("scenario") or ""), base_text=str(valid.get("scenario") or ""),
        actions=tuple(str(a) for a in actions), position=position,
    )


def load(path: str | Path) -> Manifest:
    """Read the manifest; flows are in `flows/` beside it."""
    manifest_path = Path(path)
    try:
        data = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ManifestError(f"cannot read manifest {manifest_path}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("valids"), list):
        raise ManifestError(f"{manifest_path}: no `valids` list")
    valids = [v for v in data["valids"] if isinstance(v, dict) and v.get("file") and v.get("id")]
    manifest = Manifest(path=manifest_path, flows_dir=manifest_path.parent / "flows", valids=valids)
    seen: set[str] = set()
    for valid in valids:
        runs: list[tuple[dict[str, Any] | None, str]] = []
        if valid.get("expect") != "parse-only":
            runs.append((None, str(valid["id"])))
        for case in valid.get("more_cases") or []:
            if isinstance(case, dict) and case.get("expect") != "parse-only":
                runs.append((case, f"{valid['id']}/{case.get('name')}"))
        for position, (case, sid) in enumerate(runs):
            unique = sid if sid not in seen else f"{sid}@{valid.get('namespace')}"
            seen.add(unique)
            manifest.scenarios.append(_scenario(valid, case, unique, position))
    return manifest
