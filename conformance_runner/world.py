"""What a scenario run has observed, as `expect.check` reads it (the `World` protocol).

Besides the execution under test, checks need its logs, snapshots taken during the steps (when
paused, right after a restart request), its children and the executions created from it, the
HTTP answer, and the ids placeholders name (`<child execution id>`, `<trigger-flow execution
id>`, `<task run id of X>`), resolved relative to the execution being checked.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.utils import timezone

from apps.engine.states import TERMINATED
from apps.executions import services
from apps.executions.api.serializers import full_execution_json, log_json
from apps.executions.models import Execution, LogLine
from conformance_runner import expect
from conformance_runner.manifest import Scenario
from conformance_runner.ports import HarnessPort

Json = dict[str, Any]
POLL = 0.01
TERMINAL = frozenset(s.value for s in TERMINATED)


def snapshot(execution_id: str) -> Json:
    return full_execution_json(Execution.objects.get(id=execution_id))


def parent_of(execution_id: str) -> str | None:
    row = Execution.objects.filter(id=execution_id).first()
    if row is None:
        return None
    parent = (row.meta or {}).get("parent") or {}
    variables = (row.trigger or {}).get("variables") or {}
    found = row.trigger_execution_id or parent.get("executionId") or variables.get("executionId")
    return str(found) if found else None



class Observations:
    """The state of one scenario run that checks read; `ScenarioRun` adds the steps."""

    http_status: int | None = None
    created: bool | None = None

    def __init__(self, harness: HarnessPort, scenario: Scenario) -> None:
        self.harness = harness
        self.sc = scenario
        self.timeout = harness.timeout_for(scenario)
        self.current: str | None = None
        self.involved: list[str] = []
        self.shots: dict[str, Json] = {}
        self.body: str | None = None
        self.notes: list[str] = []  # context for a failure (an HTTP answer), shown only if something failed
        self.started = timezone.now()

    def _poll(self, probe: Any, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            found = probe()
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(POLL * 5)

    def logs(self, execution_id: str) -> list[Json]:
        return [log_json(line) for line in LogLine.objects.filter(execution_id=execution_id).order_by("seq")]

    def snapshot(self, name: str) -> Json | None:
        return self.shots.get(name)

    def children(self, execution: Json, flow: str | None) -> list[Json]:
        parent_id = str(execution["id"])
        rows = Execution.objects.filter(trigger_execution_id=parent_id).order_by("created")
        found = [r for r in rows if flow is None or f"{r.namespace}/{r.flow_id}" == flow]
        for row in found:
            services.wait(row.id, self.timeout)
        return [snapshot(str(r.id)) for r in found]

    def family_states(self, execution: Json, count: int) -> list[str]:
        """States of the execution and of those created from it (flow retries), once all ended."""
        original = str(execution.get("originalId") or execution["id"])

        def settled() -> list[str] | None:
            states = list(Execution.objects.filter(original_id=original).order_by("created")
                          .values_list("state", flat=True))
            return states if len(states) >= count and all(s in TERMINAL for s in states) else None

        found = self._poll(settled)
        return list(found) if found is not None else list(
            Execution.objects.filter(original_id=original).order_by("created").values_list("state", flat=True))

    def resolve(self, text: str, execution: Json) -> str | None:
        """An id or value named by a placeholder, relative to `execution` where it says so."""
        lowered = text.lower()
        own = str(execution["id"])
        found = re.search(r"task run id of `?([\w-]+)`?", text)
        if found:
            run = expect.select(execution, found.group(1))
            return str(run["id"]) if run else None
        if "unique" in lowered:
            return self.harness.values.unique(self.sc.valid_id)
        if "verbatim" in lowered or "same string" in lowered:
            return self.body
        if re.search(r"\btop\b|\broot\b", lowered):
            top = own
            while (up := parent_of(top)) is not None:
                top = up
            return top
        named = self._by_flow(text, own)
        if named is not None:
            return named
        if "child" in lowered:
            child = Execution.objects.filter(trigger_execution_id=own).order_by("created").first()
            return str(child.id) if child else None
        if "parent" in lowered:
            return parent_of(own)
        if "execution id" in lowered or lowered.strip() == "id":
            return own
        return None

    def _by_flow(self, text: str, own: str) -> str | None:
        """`<trigger-flow execution id>`, `<id of the child switch execution>`: the execution of that flow."""
        related = set(self.involved) | {own}
        up = parent_of(own)
        while up is not None and up not in related:
            related.add(up)
            up = parent_of(up)
        related |= set(Execution.objects.filter(trigger_execution_id=own).values_list("id", flat=True))
        rows = sorted(Execution.objects.filter(id__in=related).values_list("flow_id", "id"),
                      key=lambda pair: -len(pair[0]))
        for flow_id, execution_id in rows:
            if execution_id != own and re.search(rf"(?<![\w-]){re.escape(flow_id)}(?![\w-])", text):
                return str(execution_id)
        return None
