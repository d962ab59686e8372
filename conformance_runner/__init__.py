"""The conformance runner: runs the scenarios of a Kestra conformance manifest against the real
engine and says, per scenario, whether every expectation held.

The manifest (../shared/conformance/manifest.yaml) restates what Kestra's own tests assert; its
header comments define the notation. This package only implements that notation:

- `manifest`: reading valids and their `more_cases` into `Scenario`s;
- `placeholders`: `<...>` values (inputs, expected ids) and environment preconditions;
- `actions`: the English `scenario` / `actions` phrases as steps;
- `expect`: checking an expectation map against Kestra's JSON of an execution;
- `world`: what a run observed (logs, snapshots, children, ids placeholders name) for the checks;
- `ports`: `HarnessPort`, the harness as a run sees it (so `run`/`world` never import `harness`);
- `run`: one scenario, step by step;
- `workers`: the worker and scheduler the executions need;
- `harness`: deploying the flows and running scenarios.
"""

from __future__ import annotations
