"""Attempt outcomes a worker leaves on its task run when the execution is busy (docs/adr/0007).

A worker that finishes an attempt first tries to take its execution's lock without waiting. If
it gets it, it applies its outcome at once (one transaction, as before). If another worker holds
it, it writes the outcome on its own task run row (`TaskRun.result`, fenced by attempt number)
and tries once more; when that fails too, the holder applies it: every decision folds the
pending outcomes of its execution in first, and looks for new ones after it commits. A wide
fan-out thus costs one decision per batch of results instead of one per result, and no worker
waits for another to finish deciding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.engine import planner
from apps.engine.context import Env, merge_labels
from apps.engine.model import CompiledFlow, Effects, ExecutionData, TaskRunData
from apps.engine.states import State


@dataclass
class Outcome:
    attempt: int
    state: State
    outputs: dict[str, Any] | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)
    labels: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "state": self.state.value, "outputs": self.outputs,
                "logs": [list(line) for line in self.logs], "labels": self.labels}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Outcome:
        return cls(attempt=int(raw["attempt"]), state=State(raw["state"]), outputs=raw.get("outputs"),
                   logs=[(str(level), str(message)) for level, message in raw.get("logs") or []],
                   labels=raw.get("labels"))


def fold(flow: CompiledFlow, data: ExecutionData, pending: dict[str, Outcome], env: Env) -> Effects:
    """Apply every pending outcome that still matches its run's current attempt; the others
    (the run was killed, restarted or taken over meanwhile) keep only their log lines."""
    outcomes: list[tuple[TaskRunData, State, dict[str, Any] | None]] = []
    logs: list[tuple[str | None, str, str]] = []
    index = data.indexed()  # the runs with an outcome, in the order of `task_runs`, found by id
    for run in sorted((index.by_id[i] for i in pending if i in index.by_id), key=lambda r: index.position[r.id]):
        outcome = pending[run.id]
        logs += [(run.id, level, message) for level, message in outcome.logs]
        if run.state == State.RUNNING and run.attempt_count == outcome.attempt:
            if outcome.labels is not None:
                data.labels = merge_labels(data.labels, outcome.labels)
            outcomes.append((run, outcome.state, outcome.outputs))
    effects = planner.attempts_ended(flow, data, outcomes, env) if outcomes else Effects()
    effects.logs[:0] = logs
    return effects
