"""`weir --server … execution run NS ID --input k=v [--wait]`.

With `--wait` the command polls the execution, prints each task run as it ends (a bar on a
terminal, plain lines otherwise) and exits with a code taken from the final state (EXIT_CODES).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from apps.cli.remote.client import ApiError, Client, quote
from apps.cli.remote.progress import Progress

FINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"}
EXIT_CODES = {"SUCCESS": 0, "SKIPPED": 0, "FAILED": 1, "RETRIED": 1, "WARNING": 3, "KILLED": 4, "CANCELLED": 4}
"""0 success, 1 failed (or retried as a new execution), 2 usage/connection/refused (the CLI's),
3 warning, 4 killed or cancelled, 5 still running when --timeout expired."""
TIMED_OUT = 5
POLL_SECONDS = 0.5


def parse_inputs(pairs: Sequence[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--input {pair!r}: use --input NAME=VALUE")
        inputs[key.strip()] = value
    return inputs


def _seconds(run: dict[str, Any]) -> str:
    state = run.get("state") or {}
    duration = state.get("duration")
    return f" ({duration})" if duration else ""


def run(client: Client, namespace: str, flow_id: str, inputs: dict[str, str], *, wait: bool,
        timeout: float | None = None, progress_bar: bool | None = None) -> int:
    created = client.post_json(f"api/v1/executions/{quote(namespace)}/{quote(flow_id)}", inputs)
    execution_id = str(created["id"])
    print(f"execution {execution_id} {created.get('url') or ''}".rstrip(), flush=True)
    if not wait:
        return 0
    deadline = None if timeout is None else time.monotonic() + timeout
    reported: set[str] = set()
    with Progress(f"{namespace}.{flow_id}", None, bar=progress_bar, count_lines=False) as progress:
        while True:
            data = client.get(f"api/v1/executions/{quote(execution_id)}")
            runs = data.get("taskRunList") or []
            progress.set_total(len(runs))
            for task_run in runs:
                state = (task_run.get("state") or {}).get("current")
                key = str(task_run.get("id"))
                if state in FINAL and key not in reported:
                    reported.add(key)
                    value = f"[{task_run['value']}]" if task_run.get("value") else ""
                    progress.line(f"  {state:9} {task_run.get('taskId')}{value}{_seconds(task_run)}")
                    progress.advance(str(task_run.get("taskId")))
            final = (data.get("state") or {}).get("current")
            if final in FINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                progress.line(f"execution {execution_id} is still {final} after {timeout:g} s")
                return TIMED_OUT
            time.sleep(POLL_SECONDS)
    print(f"execution {execution_id} ended {final}", flush=True)
    return EXIT_CODES.get(str(final), 1)


__all__ = ["ApiError", "parse_inputs", "run"]
