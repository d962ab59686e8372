"""What a scenario run may ask of the harness that runs it.

`harness` builds runs (`run.ScenarioRun`, whose observations live in `world`); the runs call
back only through `HarnessPort`, so imports point one way: harness → run → world → ports.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.test import Client

from conformance_runner.manifest import Scenario
from conformance_runner.placeholders import InputValues


class HarnessPort(Protocol):
    """The harness as its runs see it: inputs, timeouts, related scenarios, an HTTP client."""

    values: InputValues
    series_done: dict[str, int]

    def client(self, anonymous: bool = False) -> Client: ...

    def declarations(self, scenario: Scenario) -> list[Any]: ...

    def timeout_for(self, scenario: Scenario) -> float: ...

    def series(self, scenario: Scenario, count: int) -> list[Scenario]: ...

    def parent_chain(self, scenario: Scenario, depth: int = 0) -> list[Scenario]: ...

    def upstream(self, scenario: Scenario, flow: str | None) -> Scenario | None: ...
