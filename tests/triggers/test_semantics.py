"""Schedule semantics with an injected clock (KESTRA.md §4.2, docs/adr/0015): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.triggers.cron import Cron
from apps.triggers.schedule import Policy, Slots, decide, slots_of

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(slots: list[datetime], tz: ZoneInfo) -> list[str]:
    return [s.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S%z") for s in slots]


@pytest.mark.parametrize(("nickname", "first"), [
    ("@hourly", utc(2025, 1, 1, 1)), ("@daily", utc(2025, 1, 2)), ("@midnight", utc(2025, 1, 2)),
    ("@weekly", utc(2025, 1, 5)), ("@monthly", utc(2025, 2, 1)), ("@yearly", utc(2026, 1, 1)),
    ("@annually", utc(2026, 1, 1)),
])
def test_nicknames(nickname: str, first: datetime) -> None:
    assert Cron(nickname).next_after(utc(2025, 1, 1, 0, 30)) == first


def test_with_seconds_ranges_and_steps() -> None:
    cron = Cron("*/20 0-1 9 * * MON-FRI", with_seconds=True)
    start = utc(2025, 1, 3, 8, 59, 59)  # a Friday
    assert cron.slots(start, utc(2025, 1, 3, 9, 2)) == [
        utc(2025, 1, 3, 9, 0, 0), utc(2025, 1, 3, 9, 0, 20), utc(2025, 1, 3, 9, 0, 40),
        utc(2025, 1, 3, 9, 1, 0), utc(2025, 1, 3, 9, 1, 20), utc(2025, 1, 3, 9, 1, 40)]
    # Saturday and Sunday are skipped: the next slot is Monday's
    assert cron.next_after(utc(2025, 1, 3, 10)) == utc(2025, 1, 6, 9, 0, 0)


@pytest.mark.parametrize("dow", ["0", "7", "SUN"])
def test_day_of_week_0_and_7_are_sunday(dow: str) -> None:
    assert Cron(f"0 12 * * {dow}").next_after(utc(2025, 1, 1)) == utc(2025, 1, 5, 12)  # 5 Jan 2025: Sunday


def test_timezone_reads_the_cron_in_local_time() -> None:
    cron = Cron("0 9 * * *", timezone="Europe/Paris")
    assert cron.next_after(utc(2025, 1, 1)) == utc(2025, 1, 1, 8)   # CET, +01:00
    assert cron.next_after(utc(2025, 7, 1)) == utc(2025, 7, 1, 7)   # CEST, +02:00
    assert Cron("0 9 * * *", timezone="+05:30").next_after(utc(2025, 1, 1)) == utc(2025, 1, 1, 3, 30)


@pytest.mark.parametrize(("zone", "gap_day", "expected"), [
    ("Europe/Paris", (2025, 3, 30), "2025-03-30 03:00:00+0200"),
    ("America/New_York", (2025, 3, 9), "2025-03-09 03:00:00-0400"),
])
def test_spring_forward_gap_fires_once_at_the_first_valid_instant(zone: str, gap_day: tuple[int, int, int],
                                                                  expected: str) -> None:
    tz = ZoneInfo(zone)
    y, m, d = gap_day
    cron = Cron("30 2 * * *", timezone=zone)
    slots = cron.slots(utc(y, m, d - 1, 12), utc(y, m, d + 1, 12))
    assert local(slots, tz) == [expected, local([slots[1]], tz)[0]]
    assert local(slots, tz)[1].endswith("02:30:00" + expected[-5:])
    # several slots of one gap collapse into one instant: */15 in the 02:xx hour fires once
    quarter = Cron("*/15 2 * * *", timezone=zone).slots(utc(y, m, d - 1, 12), utc(y, m, d, 12))
    assert local(quarter, tz) == [expected.replace("03:00:00", "03:00:00")]


@pytest.mark.parametrize(("zone", "day"), [("Europe/Paris", (2025, 10, 26)), ("America/New_York", (2025, 11, 2))])
def test_repeated_hour_fires_once(zone: str, day: tuple[int, int, int]) -> None:
    tz = ZoneInfo(zone)
    y, m, d = day
    slots = Cron("30 1,2 * * *", timezone=zone).slots(utc(y, m, d - 1, 12), utc(y, m, d, 12))
    assert [s.astimezone(tz).strftime("%H:%M") for s in slots] == ["01:30", "02:30"]
    every = Cron("*/30 * * * *", timezone=zone).slots(utc(y, m, d - 1, 22), utc(y, m, d, 12))
    assert len(every) == len(set(every))
    # 12 h + 1 repeated hour of wall-clock time, but each wall-clock slot fires once
    assert len({s.astimezone(tz).strftime("%H:%M") for s in every}) == len(every)


def test_previous_and_next_variables() -> None:
    slots = slots_of({"cron": "0 * * * *", "timezone": "Europe/Paris"})
    assert slots.variables(utc(2025, 1, 1, 10)) == {
        "date": "2025-01-01T11:00:00+01:00", "next": "2025-01-01T12:00:00+01:00",
        "previous": "2025-01-01T10:00:00+01:00"}


# ---------------------------------------------------------------------------------------------
# decide: recovery, lateness, conditions


EVERY_MINUTE = slots_of({"cron": "* * * * *"})


def test_a_due_slot_fires_and_the_next_one_is_waited_for() -> None:
    d = decide(EVERY_MINUTE, Policy(), utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 0, 0, 300000))
    assert (d.slot, d.next_date, d.skipped) == (utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 1), [])


def test_nothing_fires_before_the_slot() -> None:
    d = decide(EVERY_MINUTE, Policy(), utc(2025, 1, 1, 10), utc(2025, 1, 1, 9, 59, 59))
    assert d.slot is None and d.next_date == utc(2025, 1, 1, 10)


def test_recover_all_fires_every_missed_slot_in_order() -> None:
    now = utc(2025, 1, 1, 10, 5, 30)
    next_date, fired = utc(2025, 1, 1, 10), []
    for _ in range(10):
        d = decide(EVERY_MINUTE, Policy("ALL"), next_date, now)
        if d.slot is None:
            break
        fired.append(d.slot)
        assert d.next_date is not None
        next_date = d.next_date
    assert fired == [utc(2025, 1, 1, 10, m) for m in range(6)] and next_date == utc(2025, 1, 1, 10, 6)


def test_recover_last_fires_only_the_latest_missed_slot() -> None:
    d = decide(EVERY_MINUTE, Policy("LAST"), utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 5, 30))
    assert d.slot == utc(2025, 1, 1, 10, 5) and d.next_date == utc(2025, 1, 1, 10, 6)
    assert d.skipped == [(utc(2025, 1, 1, 10), "missed")]


def test_recover_none_skips_missed_slots_but_fires_a_slot_on_time() -> None:
    d = decide(EVERY_MINUTE, Policy("NONE", grace=timedelta(seconds=10)), utc(2025, 1, 1, 10),
               utc(2025, 1, 1, 10, 5, 30))
    assert d.slot is None and d.next_date == utc(2025, 1, 1, 10, 6)
    on_time = decide(EVERY_MINUTE, Policy("NONE", grace=timedelta(seconds=10)), utc(2025, 1, 1, 10, 6),
                     utc(2025, 1, 1, 10, 6, 1))
    assert on_time.slot == utc(2025, 1, 1, 10, 6)


def test_late_maximum_delay_drops_slots_that_are_too_late() -> None:
    policy = Policy.of({"lateMaximumDelay": "PT90S"})
    d = decide(EVERY_MINUTE, policy, utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 5, 30))
    assert d.slot == utc(2025, 1, 1, 10, 4) and d.skipped == [(utc(2025, 1, 1, 10), "late")]
    hourly = slots_of({"cron": "0 * * * *"})
    d = decide(hourly, policy, utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 5))
    assert d.slot is None and d.next_date == utc(2025, 1, 1, 11)


def test_conditions_skip_a_slot_and_the_next_one_is_evaluated() -> None:
    def only_even(slot: datetime) -> bool:
        return slot.minute % 2 == 0

    d = decide(EVERY_MINUTE, Policy(), utc(2025, 1, 1, 10, 1), utc(2025, 1, 1, 10, 1, 1), only_even)
    assert d.slot is None and d.next_date == utc(2025, 1, 1, 10, 2) and d.skipped[0][1] == "conditions"
    d = decide(EVERY_MINUTE, Policy(), utc(2025, 1, 1, 10, 2), utc(2025, 1, 1, 10, 2, 1), only_even)
    assert d.slot == utc(2025, 1, 1, 10, 2)


def test_schedule_on_dates() -> None:
    slots = slots_of({"dates": ["2025-03-31T18:00:00+02:00", "2025-01-01T09:00:00"], "timezone": "Europe/Paris"})
    assert isinstance(slots, Slots)
    assert slots.next_after(utc(2024, 12, 1)) == utc(2025, 1, 1, 8)
    assert slots.next_after(utc(2025, 1, 1, 8)) == utc(2025, 3, 31, 16)
    assert slots.next_after(utc(2025, 4, 1)) is None
    d = decide(slots, Policy("LAST"), utc(2025, 1, 1, 8), utc(2025, 4, 2))
    assert d.slot == utc(2025, 3, 31, 16) and d.next_date is None
