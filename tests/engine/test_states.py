"""The state enum, its transition table and the roll-up rules (KESTRA.md §5.2, §5.4, §6.6).

Every state change in the engine goes through `transition`, so these tables are what keeps an
execution's history meaningful: a wrong entry here shows up as a corrupt history much later.
Pure tests, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from apps.engine.states import (
    ACTIVE,
    RESTARTABLE,
    RESUMABLE,
    TERMINATED,
    IllegalTransition,
    State,
    is_truthy,
    transition,
    worst,
)

S = State
WHEN = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Subject:
    state: State
    history: list[dict[str, str]] = field(default_factory=list)


def test_terminated_states_are_exactly_kestras() -> None:
    assert {s for s in State if s.terminated} == {
        S.SUCCESS, S.WARNING, S.FAILED, S.KILLED, S.CANCELLED, S.RETRIED, S.SKIPPED}
    assert TERMINATED.isdisjoint(ACTIVE)
    assert S.PAUSED not in TERMINATED and S.PAUSED not in ACTIVE


def test_running_and_failed_flags() -> None:
    assert {s for s in State if s.running} == {S.RUNNING, S.KILLING}
    assert {s for s in State if s.failed} == {S.FAILED, S.KILLED}


def test_restartable_and_resumable() -> None:
    assert {S.FAILED, S.PAUSED} == RESTARTABLE
    assert {S.PAUSED, S.RETRYING, S.RETRIED, S.CREATED} == RESUMABLE


LEGAL = [
    # executions (KESTRA.md §5.2 "Execution transitions")
    (S.CREATED, S.RUNNING), (S.CREATED, S.QUEUED), (S.CREATED, S.CANCELLED), (S.CREATED, S.FAILED),
    (S.QUEUED, S.RUNNING),
    (S.RUNNING, S.SUCCESS), (S.RUNNING, S.WARNING), (S.RUNNING, S.FAILED), (S.RUNNING, S.CANCELLED),
    (S.RUNNING, S.PAUSED), (S.RUNNING, S.KILLING), (S.RUNNING, S.RETRYING), (S.RUNNING, S.RETRIED),
    (S.PAUSED, S.RESTARTED), (S.RESTARTED, S.RUNNING), (S.PAUSED, S.KILLING), (S.KILLING, S.KILLED),
    (S.SUCCESS, S.RESTARTED), (S.FAILED, S.RESTARTED), (S.KILLED, S.RESTARTED), (S.WARNING, S.RESTARTED),
    (S.SUCCESS, S.FAILED), (S.FAILED, S.SUCCESS), (S.WARNING, S.KILLED),  # change-status
    (S.RETRYING, S.RUNNING),
    # task runs (KESTRA.md §5.2 "Task run transitions")
    (S.CREATED, S.SKIPPED), (S.CREATED, S.KILLED),
    (S.FAILED, S.RETRYING), (S.FAILED, S.RETRIED),
    (S.PAUSED, S.RUNNING), (S.PAUSED, S.SUCCESS), (S.PAUSED, S.FAILED),
    (S.SUCCESS, S.RUNNING), (S.FAILED, S.RUNNING),  # flowable ancestors of a restarted task
]


@pytest.mark.parametrize(("before", "after"), LEGAL, ids=[f"{a}-{b}" for a, b in LEGAL])
def test_legal_transition_moves_and_records_history(before: State, after: State) -> None:
    subject = Subject(before)
    assert transition(subject, after, WHEN) is True
    assert subject.state == after
    assert subject.history == [{"state": after.value, "date": WHEN.isoformat()}]


ILLEGAL = [
    (S.KILLING, S.RUNNING), (S.KILLING, S.SUCCESS), (S.KILLING, S.PAUSED),
    (S.SUCCESS, S.CREATED), (S.SUCCESS, S.QUEUED), (S.SUCCESS, S.PAUSED), (S.SUCCESS, S.KILLING),
    (S.FAILED, S.CREATED), (S.SKIPPED, S.CREATED), (S.KILLED, S.KILLING),
    (S.RUNNING, S.CREATED), (S.RUNNING, S.QUEUED),
    (S.QUEUED, S.SUCCESS), (S.QUEUED, S.PAUSED),
]


@pytest.mark.parametrize(("before", "after"), ILLEGAL, ids=[f"{a}-{b}" for a, b in ILLEGAL])
def test_illegal_transition_raises_and_changes_nothing(before: State, after: State) -> None:
    subject = Subject(before, [{"state": before.value, "date": "earlier"}])
    with pytest.raises(IllegalTransition):
        transition(subject, after, WHEN)
    assert subject.state == before
    assert subject.history == [{"state": before.value, "date": "earlier"}]


@pytest.mark.parametrize("state", list(State), ids=[s.value for s in State])
def test_same_state_is_a_no_op(state: State) -> None:
    subject = Subject(state)
    assert transition(subject, state, WHEN) is False
    assert subject.history == []


@pytest.mark.parametrize("state", sorted(TERMINATED), ids=sorted(s.value for s in TERMINATED))
def test_every_terminal_state_can_be_restarted_or_changed(state: State) -> None:
    for target in (S.RESTARTED, *TERMINATED):
        if target != state:
            assert transition(Subject(state), target, WHEN)


def test_killing_only_leads_to_killed() -> None:
    for target in State:
        if target in (S.KILLING, S.KILLED):
            continue
        with pytest.raises(IllegalTransition):
            transition(Subject(S.KILLING), target, WHEN)


WORST = [
    ([], S.SUCCESS),
    ([S.SUCCESS, S.SUCCESS], S.SUCCESS),
    ([S.SUCCESS, S.SKIPPED], S.SUCCESS),
    ([S.SUCCESS, S.PAUSED], S.PAUSED),
    ([S.PAUSED, S.WARNING, S.SUCCESS], S.WARNING),
    ([S.WARNING, S.FAILED, S.PAUSED], S.FAILED),
    ([S.FAILED, S.KILLED, S.WARNING], S.KILLED),
    ([S.KILLED, S.SUCCESS], S.KILLED),
    ([S.SKIPPED], S.SUCCESS),
]


@pytest.mark.parametrize(("states", "expected"), WORST, ids=["-".join(s) or "empty" for s, _ in WORST])
def test_worst_precedence(states: list[State], expected: State) -> None:
    """KILLED > FAILED > WARNING > PAUSED > SUCCESS, whatever the order (KESTRA.md §5.4)."""
    assert worst(states) == expected
    assert worst(reversed(states)) == expected


TRUTHY = [("true", True), ("false", False), ("0", False), ("-0", False), ("", False),
          ("null", True), ("False", True), ("1", True), ("no", True), ("0.0", True),
          (None, False), (True, True), (False, False), (0, False), (1, True)]


@pytest.mark.parametrize(("rendered", "expected"), TRUTHY, ids=[repr(v) for v, _ in TRUTHY])
def test_is_truthy_follows_truth_utils(rendered: object, expected: bool) -> None:
    """False iff the rendered string is "false", "0", "-0" or "" (KESTRA.md §6.6)."""
    assert is_truthy(rendered) is expected
