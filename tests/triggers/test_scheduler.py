"""The trigger loop on the real database: one execution per slot, state following the flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.triggers import scheduler
from apps.triggers.models import TriggerSlot, TriggerState
from tests.triggers.conftest import schedule_flow

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 1, 1, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def executions(flow_id: str = "nightly") -> list[Execution]:
    return list(Execution.objects.filter(flow_id=flow_id).order_by("created"))


def test_each_slot_fires_once_with_trigger_variables(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow(extra="    labels:\n      team: data\n"))
    scheduler.tick(at(-30))
    state = TriggerState.objects.get(flow_id="nightly")
    assert state.next_date == T0 and not executions()
    scheduler.tick(at(0.2))
    scheduler.tick(at(0.7))  # the same slot again: nothing new
    [row] = executions()
    assert row.trigger == {"id": "every", "type": "io.kestra.plugin.core.trigger.Schedule", "variables": {
        "date": "2025-01-01T10:00:00+00:00", "next": "2025-01-01T10:01:00+00:00",
        "previous": "2025-01-01T09:59:00+00:00"}}
    assert row.inputs == {"day": "2025-01-01T10:00:00+00:00"}
    assert {"key": "team", "value": "data"} in row.labels and row.state == "CREATED"
    state.refresh_from_db()
    assert state.execution_id == row.id and state.next_date == at(60) and state.date == T0
    assert TriggerSlot.objects.get().execution_id == row.id


def test_the_slot_key_makes_a_second_execution_impossible(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    scheduler.tick(at(-30))
    scheduler.tick(at(1))
    Execution.objects.update(state="SUCCESS")
    # a lost update: the row says the slot is still to come (as after a crash between claim and commit)
    TriggerState.objects.update(next_date=T0, evaluate_at=T0)
    scheduler.tick(at(2))
    assert len(executions()) == 1
    assert TriggerState.objects.get().next_date == at(60)


def test_no_overlap_then_recover_all(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    scheduler.tick(at(-30))
    scheduler.tick(at(1))
    scheduler.tick(at(61))
    scheduler.tick(at(121))
    assert len(executions()) == 1  # the first is still CREATED: the next slots wait
    Execution.objects.update(state="SUCCESS")
    for i in range(4):
        scheduler.tick(at(130 + i * 2))
        Execution.objects.update(state="SUCCESS")
    dates = [e.trigger["variables"]["date"] for e in executions()]
    assert dates == ["2025-01-01T10:00:00+00:00", "2025-01-01T10:01:00+00:00", "2025-01-01T10:02:00+00:00"]


def test_recover_last_after_downtime(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow(extra="    recoverMissedSchedules: LAST\n"))
    scheduler.tick(at(-30))
    scheduler.tick(at(600.5))
    assert [e.trigger["variables"]["date"] for e in executions()] == ["2025-01-01T10:10:00+00:00"]


def test_stop_after_disables_the_trigger(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow(extra="    stopAfter: [FAILED]\n"))
    scheduler.tick(at(-30))
    scheduler.tick(at(1))
    Execution.objects.update(state="FAILED")
    scheduler.tick(at(61))
    state = TriggerState.objects.get()
    assert state.disabled and len(executions()) == 1
    scheduler.tick(at(200))
    assert len(executions()) == 1


def test_conditions_on_trigger_date_skip_a_slot(writer: Any) -> None:
    weekend = ("    conditions:\n      - type: io.kestra.plugin.core.condition.Weekend\n")
    flow_services.create_flow(writer, schedule_flow(cron="0 10 * * *", extra=weekend))
    scheduler.tick(at(-30))  # 2025-01-01 is a Wednesday
    for day in range(5):
        scheduler.tick(at(day * 86400 + 1))
        Execution.objects.update(state="SUCCESS")
    assert [e.trigger["variables"]["date"][:10] for e in executions()] == ["2025-01-04", "2025-01-05"]


def test_rename_remove_and_disable(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    scheduler.tick(at(-30))
    flow_services.update_flow(writer, "acme", "nightly", schedule_flow(trigger_id="renamed"))
    scheduler.tick(at(-20))
    assert list(TriggerState.objects.values_list("trigger_id", flat=True)) == ["renamed"]
    flow_services.update_flow(writer, "acme", "nightly", schedule_flow(flow_extra="disabled: true\n",
                                                                        trigger_id="renamed"))
    scheduler.tick(at(5))
    assert not executions() and not TriggerState.objects.get().active
    flow_services.update_flow(writer, "acme", "nightly", schedule_flow(
        trigger_id="renamed", extra="    disabled: true\n"))
    scheduler.tick(at(65))
    assert not executions()
    flow_services.delete_flow(writer, "acme", "nightly")
    scheduler.tick(at(70))
    assert not TriggerState.objects.exists()


def test_a_changed_cron_starts_from_now_but_a_task_edit_keeps_the_slot(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    scheduler.tick(at(-30))
    flow_services.update_flow(writer, "acme", "nightly", schedule_flow().replace("trigger.date }}\"\n", "trigger.date }} edited\"\n", 1))
    scheduler.tick(at(-20))
    assert TriggerState.objects.get().next_date == T0
    flow_services.update_flow(writer, "acme", "nightly", schedule_flow(cron="30 * * * *"))
    scheduler.tick(at(-10))
    assert TriggerState.objects.get().next_date == at(1800)


def test_dst_gap_slot_fires_exactly_once_at_the_end_of_the_gap(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow(cron="30 2 * * *", extra="    timezone: Europe/Paris\n"))
    eve = datetime(2025, 3, 29, 12, tzinfo=UTC)
    scheduler.tick(eve)
    assert TriggerState.objects.get().next_date == datetime(2025, 3, 30, 1, tzinfo=UTC)  # 03:00 CEST
    for hours in (13.0, 13.1, 14.0, 20.0):
        scheduler.tick(eve + timedelta(hours=hours))
        Execution.objects.update(state="SUCCESS")
    [row] = executions()
    assert row.trigger["variables"] == {"date": "2025-03-30T03:00:00+02:00", "next": "2025-03-31T02:30:00+02:00",
                                        "previous": "2025-03-29T02:30:00+01:00"}


def test_schedule_on_dates(writer: Any) -> None:
    source = schedule_flow().replace("io.kestra.plugin.core.trigger.Schedule\n    cron: \"* * * * *\"",
                                      "io.kestra.plugin.core.trigger.ScheduleOnDates\n    dates:\n"
                                      "      - \"2025-01-01T10:00:30Z\"\n      - \"2025-01-01T11:00:00+01:00\"")
    flow_services.create_flow(writer, source)
    scheduler.tick(at(-30))
    scheduler.tick(at(1))
    Execution.objects.update(state="SUCCESS")
    scheduler.tick(at(31))
    assert [e.trigger["variables"]["date"] for e in executions()] == ["2025-01-01T10:00:00+00:00",
                                                                       "2025-01-01T10:00:30+00:00"]
    assert TriggerState.objects.get().next_date is None


def test_invalid_schedules_are_refused_by_the_api(api: Any, post_yaml: Any) -> None:
    """RELIABILITY.md §4 row 38: a readable flow with a bad cron or zone is refused (422,
    docs/adr/0002) with a message naming the problem."""
    for bad, words in (('cron: "99 * * * *"', "out of range"), ('cron: "* * * * * * *"', "expected 5 fields"),
                       ('cron: "* * * * *"\n    timezone: Mars/Olympus', "unknown time zone 'Mars/Olympus'")):
        reply = post_yaml(api, "/api/v1/flows", schedule_flow().replace('cron: "* * * * *"', bad))
        assert reply.status_code == 422, bad
        assert words in str(reply.json()), reply.json()
