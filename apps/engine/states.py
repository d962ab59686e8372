"""Kestra's one state enum for executions and task runs (KESTRA.md §5.2) and its transition table.

Every state change in Weir goes through `transition`, so an illegal move is a bug caught at the
place it happens rather than a corrupt row found later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from apps.plugins.sdk import is_truthy

__all__ = ["ALLOWED", "State", "is_truthy", "transition", "worst"]


class State(StrEnum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    RETRYING = "RETRYING"
    RETRIED = "RETRIED"
    SKIPPED = "SKIPPED"

    @property
    def terminated(self) -> bool:
        return self in TERMINATED

    @property
    def running(self) -> bool:
        return self in (State.RUNNING, State.KILLING)

    @property
    def failed(self) -> bool:
        return self in (State.FAILED, State.KILLED)


TERMINATED = frozenset({
    State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED, State.RETRIED, State.SKIPPED,
})
ACTIVE = frozenset({State.CREATED, State.QUEUED, State.RUNNING, State.RESTARTED, State.KILLING, State.RETRYING})
RESTARTABLE = frozenset({State.FAILED, State.PAUSED})
RESUMABLE = frozenset({State.PAUSED, State.RETRYING, State.RETRIED, State.CREATED})

_T = TERMINATED
ALLOWED: dict[State, frozenset[State]] = {
    State.CREATED: frozenset({State.RUNNING, State.QUEUED, State.CANCELLED, State.FAILED, State.SKIPPED,
                              State.KILLED, State.KILLING, State.PAUSED, State.SUCCESS, State.WARNING,
                              State.RESTARTED, State.RETRYING}),
    State.QUEUED: frozenset({State.RUNNING, State.CREATED, State.KILLING, State.KILLED, State.CANCELLED,
                             State.FAILED}),
    State.RUNNING: frozenset({State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED,
                              State.PAUSED, State.KILLING, State.RETRYING, State.RETRIED, State.RESTARTED,
                              State.SKIPPED}),
    State.PAUSED: frozenset({State.RESTARTED, State.RUNNING, State.KILLING, State.KILLED, State.SUCCESS,
                             State.FAILED, State.WARNING}),
    State.RESTARTED: frozenset({State.RUNNING, State.CREATED, State.KILLING, State.KILLED, State.PAUSED,
                                State.SUCCESS, State.FAILED, State.WARNING, State.QUEUED}),
    State.KILLING: frozenset({State.KILLED}),
    State.RETRYING: frozenset({State.RUNNING, State.CREATED, State.KILLING, State.KILLED, State.FAILED,
                               State.RETRIED, State.RESTARTED}),
    # Terminal states: restart (→ RESTARTED), manual status changes (→ another terminal state),
    # flowable ancestors of a restarted task (→ RUNNING) and retries (FAILED → RETRYING/RETRIED).
    State.SUCCESS: _T | {State.RESTARTED, State.RUNNING},
    State.WARNING: _T | {State.RESTARTED, State.RUNNING},
    State.FAILED: _T | {State.RESTARTED, State.RUNNING, State.RETRYING, State.RETRIED},
    State.KILLED: _T | {State.RESTARTED, State.RUNNING},
    State.CANCELLED: _T | {State.RESTARTED, State.RUNNING},
    State.RETRIED: _T | {State.RESTARTED, State.RUNNING},
    State.SKIPPED: _T | {State.RESTARTED, State.RUNNING},
}


class IllegalTransition(Exception):
    """A state change that the table in KESTRA.md §5.2 does not allow."""


class HasState(Protocol):
    state: State
    history: list[dict[str, str]]


def transition(obj: HasState, new: State, when: datetime) -> bool:
    """Move `obj` to `new`, appending to its history. Setting the same state again is a no-op
    (False), as in Kestra; an illegal move raises `IllegalTransition`."""
    if obj.state == new:
        return False
    if new not in ALLOWED[obj.state]:
        raise IllegalTransition(f"{obj.state} → {new} is not a legal transition")
    obj.state = new
    obj.history.append({"state": new.value, "date": when.isoformat()})
    return True


def worst(states: Iterable[State]) -> State:
    """Roll-up precedence KILLED > FAILED > WARNING > PAUSED > SUCCESS (KESTRA.md §5.4)."""
    seen = set(states)
    for candidate in (State.KILLED, State.FAILED, State.WARNING, State.PAUSED):
        if candidate in seen:
            return candidate
    if State.CANCELLED in seen:
        return State.FAILED
    return State.SUCCESS
