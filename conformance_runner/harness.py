"""Deploying a manifest's flows and running its scenarios, one line of outcome each.

Every valid flow that validates is deployed (runtime ones, subflow targets and flow-trigger
listeners alike), so a scenario meets the same neighbours as in Kestra's test suite. The
environment the preconditions ask for (`SECRET_*`, `KESTRA_*`, server globals) is set before the
workers start, so a worker process inherits it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.test import Client

from apps.engine.states import TERMINATED
from apps.executions import services
from apps.executions.models import Execution
from apps.flows import services as flow_services
from conformance_runner import outside
from conformance_runner.manifest import Manifest, Scenario
from conformance_runner.placeholders import InputValues, environment
from conformance_runner.run import ScenarioRun
from conformance_runner.workers import Services

LONG_TYPES = ("Sleep", "Pause", "Subflow", "WaitFor")
LONG_FEATURES = ("retry", "task.retry", "concurrency", "task.delay", "task.timeout", "sla", "triggers")
TERMINAL = [s.value for s in TERMINATED]


class Harness:
    def __init__(self, manifest: Manifest, *, timeout: float = 15.0, long_timeout: float = 60.0,
                 emit: Callable[[str], None] = print, warn: Callable[[str], None] = print) -> None:
        self.manifest = manifest
        self.timeout = timeout
        self.long_timeout = long_timeout
        self.emit = emit
        self.warn = warn
        self.workdir = Path(tempfile.mkdtemp(prefix="weir-conformance-"))
        self.values = InputValues(self.workdir)
        self.series_done: dict[str, int] = {}
        self.deployed: set[str] = set()
        self._client: Client | None = None
        self._declarations: dict[str, list[Any]] = {}

    # -----------------------------------------------------------------------------------------
    # Setup

    def user(self) -> Any:
        from apps.accounts.models import User

        found = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
        if found is None:
            found = User.objects.create_superuser("conformance", "conformance@localhost", None)
        return found

    def client(self, anonymous: bool = False) -> Client:
        """A test client with a bearer token; `anonymous` for webhooks, which Kestra leaves open
        (a token sent there would end up in the execution's trigger headers)."""
        if anonymous:
            return Client()
        if self._client is None:
            from apps.accounts.services import create_token

            raw = create_token(self.user(), "conformance runner").raw
            self._client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return self._client

    def prepare_environment(self) -> None:
        """Environment variables and server globals from every precondition of the manifest."""
        merged_globals: dict[str, Any] = {}
        for valid in self.manifest.valids:
            texts = [valid.get("preconditions")] + [c.get("preconditions") for c in valid.get("more_cases") or []]
            for text in texts:
                if not text:
                    continue
                envs, server_globals = environment(str(text))
                os.environ.update(envs)
                merged_globals.update(server_globals)
        if merged_globals:
            current = dict(getattr(settings, "WEIR_GLOBALS", {}) or {})
            settings.WEIR_GLOBALS = {**current, **merged_globals}
            os.environ["WEIR_GLOBALS"] = json.dumps(settings.WEIR_GLOBALS)

    def forget_previous_runs(self) -> None:
        """Kestra's tests start from an empty state store and no pending trigger windows: drop what
        earlier runs left in the manifest's namespaces (flow state, multiple-condition windows), but
        keep the namespace KV store, which a precondition may have seeded."""
        from apps.executions.models import KVEntry
        from apps.executions.runtime import runner

        runner.clear_compiled()  # revisions repeat when the database was recreated
        namespaces = {str(v["namespace"]) for v in self.manifest.valids}
        KVEntry.objects.filter(namespace__in=namespaces).exclude(scope="kv").delete()

    def deploy(self) -> None:
        """Save every valid flow; one that does not validate is reported and left out."""
        user = self.user()
        for valid in self.manifest.valids:
            path = self.manifest.flow_file(valid)
            try:
                source = path.read_text(encoding="utf-8")
                result = flow_services.validate(source)
                if result.problems:
                    first = result.problems[0]
                    self.warn(f"DEPLOY {valid['file']}: invalid ({getattr(first, 'path', '')}: "
                              f"{getattr(first, 'message', first)})")
                    continue
                flow_services.save_flow(user, source, result)
            except Exception as error:
                self.warn(f"DEPLOY {valid['file']}: {type(error).__name__}: {error}")
                continue
            self.deployed.add(f"{valid['namespace']}/{valid['id']}")

    # -----------------------------------------------------------------------------------------
    # What runs need to know

    def declarations(self, scenario: Scenario) -> list[Any]:
        key = str(scenario.valid["file"])
        if key not in self._declarations:
            try:
                data = yaml.safe_load(self.manifest.flow_file(scenario.valid).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                data = {}
            inputs = data.get("inputs") if isinstance(data, dict) else None
            self._declarations[key] = list(inputs) if isinstance(inputs, list) else []
        return self._declarations[key]

    def timeout_for(self, scenario: Scenario) -> float:
        types = " ".join(str(t) for t in scenario.valid.get("task_types") or [])
        features = {str(f) for f in scenario.valid.get("features") or []}
        long = any(t in types for t in LONG_TYPES) or bool(features & set(LONG_FEATURES))
        return self.long_timeout if long else self.timeout

    def series(self, scenario: Scenario, count: int) -> list[Scenario]:
        """Runs of "run the flow N times in a row": the main run and the cases repeating its inputs."""
        runs = self.manifest.scenarios_of(scenario.namespace, scenario.flow_id)
        members = [s for s in runs if s.case is None or not s.own_inputs]
        return members[:count]

    def parent_chain(self, scenario: Scenario, depth: int = 0) -> list[Scenario]:
        """From a top-level run down to the direct parent that starts `scenario`'s flow as a subflow.

        A parent run asserted by the same Kestra test is preferred; a parent that is itself only
        ever a child is reached through its own parents.
        """
        if depth > 8:
            return []
        target = f"{scenario.namespace}/{scenario.flow_id}"
        candidates: list[Scenario] = []
        for valid in self.manifest.valids:
            probe = self.manifest.runs_of(valid)[0]
            if target in probe.depends_on("subflow"):
                candidates.extend(self.manifest.runs_of(valid))
        candidates.sort(key=lambda s: (not s.tests & scenario.tests, s.inputs_mode == "set-by-parent"))
        for candidate in candidates:
            if candidate.inputs_mode != "set-by-parent":
                return [candidate]
            above = self.parent_chain(candidate, depth + 1)
            if above:
                return [*above, candidate]
        outside_parent = self.outside_parent(scenario)
        return [outside_parent] if outside_parent is not None else []

    def outside_parent(self, scenario: Scenario) -> Scenario | None:
        """A flow left out of the manifest that starts `scenario`'s flow (deployed on first use)."""
        for path, data in outside.callers(self.manifest, scenario):
            key = f"{data.get('namespace')}/{data.get('id')}"
            if key not in self.deployed:
                source = path.read_text(encoding="utf-8")
                result = flow_services.validate(source)
                if result.problems:
                    continue
                flow_services.save_flow(self.user(), source, result)
                self.deployed.add(key)
            return outside.scenario(self.manifest, path, data, outside.inputs_for(data, self.values.text_file))
        return None

    def upstream(self, scenario: Scenario, flow: str | None) -> Scenario | None:
        """The flow a Flow-trigger listener listens to (the one the scenario names, if any)."""
        targets = scenario.depends_on("listens-to")
        chosen = next((t for t in targets if flow and (t == flow or t.split("/")[-1] == flow)), None)
        if chosen is None and flow:
            valid = next((v for v in self.manifest.valids if v.get("id") == flow), None)
            chosen = f"{valid['namespace']}/{valid['id']}" if valid else None
        chosen = chosen or (targets[0] if targets else None)
        if chosen is None:
            return None
        namespace, _, flow_id = chosen.partition("/")
        valid = self.manifest.valid(namespace, flow_id)
        return self.manifest.runs_of(valid)[0] if valid else None

    def missing_dependencies(self, scenario: Scenario) -> list[str]:
        needed = [scenario.depends_on("subflow"), scenario.depends_on("listens-to")]
        own = f"{scenario.namespace}/{scenario.flow_id}"
        return [flow for flows in [[own], *needed] for flow in flows if flow not in self.deployed]

    # -----------------------------------------------------------------------------------------
    # Running

    def run_one(self, scenario: Scenario) -> list[str]:
        missing = self.missing_dependencies(scenario)
        if missing:
            return [f"flow(s) not deployed: {', '.join(missing)}"]
        self._settle(scenario)
        run = ScenarioRun(self, scenario)
        try:
            return run.execute()
        except Exception as error:  # a runner or engine crash is this scenario's failure, not the run's
            return [f"error: {type(error).__name__}: {error}"]
        finally:
            run.cleanup()

    def _settle(self, scenario: Scenario) -> None:
        """Kill executions of the flow left running by an earlier run (they would hold concurrency slots)."""
        leftovers = Execution.objects.filter(namespace=scenario.namespace, flow_id=scenario.flow_id).exclude(
            state__in=TERMINAL).values_list("id", flat=True)
        for execution_id in leftovers:
            try:
                services.kill(execution_id)
            except Exception:  # ended meanwhile
                continue

    def run(self, scenarios: list[Scenario]) -> tuple[int, int]:
        """Deploy, start the workers, run every scenario; returns (passed, failed)."""
        passed = failed = 0
        self.prepare_environment()
        self.forget_previous_runs()
        self.deploy()
        with Services():
            for scenario in scenarios:
                problems = self.run_one(scenario)
                if problems:
                    failed += 1
                    self.emit(f"FAIL {scenario.id}: {_short('; '.join(problems))}")
                else:
                    passed += 1
                    self.emit(f"PASS {scenario.id}")
        self.emit(f"{passed} passed, {failed} failed")
        shutil.rmtree(self.workdir, ignore_errors=True)
        return passed, failed


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["Harness"]
