"""What a schedule does at a given instant (KESTRA.md §4.2), pure: the clock is an argument.

`decide` is the whole rule book of one due Schedule or ScheduleOnDates trigger: which slot fires
now, which slots are skipped and why (missed while down or disabled, too late, conditions false),
and the next slot to wait for. The scheduler (apps/triggers/scheduler.py) applies a decision to
the trigger's state row; the unit tests drive it with an injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apps.plugins.sdk import parse_duration
from apps.triggers.cron import Cron, zone

SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
SCHEDULE_ON_DATES = "io.kestra.plugin.core.trigger.ScheduleOnDates"
SCHEDULE_TYPES = frozenset((SCHEDULE, SCHEDULE_ON_DATES))
RECOVER_DEFAULT = "ALL"
TINY = timedelta(microseconds=1)


@dataclass(frozen=True)
class Slots:
    """The slots of one schedule: a cron in a zone, or a list of dates."""

    cron: Cron | None = None
    dates: tuple[datetime, ...] = ()
    timezone: str | None = None

    def next_after(self, instant: datetime) -> datetime | None:
        if self.cron is not None:
            return self.cron.next_after(instant)
        return next((d for d in self.dates if d > instant), None)

    def previous_before(self, instant: datetime) -> datetime | None:
        if self.cron is not None:
            return self.cron.previous_before(instant)
        return next((d for d in reversed(self.dates) if d < instant), None)

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        return self.previous_before(instant + TINY)

    def between(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Slots in [start, end], at most `limit`."""
        found: list[datetime] = []
        current = self.next_after(start - TINY)
        while current is not None and current <= end and len(found) < limit:
            found.append(current)
            current = self.next_after(current)
        return found

    def local(self, instant: datetime | None) -> str | None:
        """An instant as the schedule's variables show it: ISO-8601 in the schedule's zone."""
        return instant.astimezone(zone(self.timezone)).isoformat() if instant else None

    def variables(self, slot: datetime) -> dict[str, Any]:
        """`trigger.date`, `trigger.next`, `trigger.previous` of the execution of `slot`."""
        return {"date": self.local(slot), "next": self.local(self.next_after(slot)),
                "previous": self.local(self.previous_before(slot))}


def parse_date(value: Any, timezone: str | None) -> datetime:
    """An ISO-8601 date-time; without an offset it is read in `timezone` (default UTC)."""
    text = str(value).strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(timezone))
    return parsed


def slots_of(trigger: Mapping[str, Any], dates: Sequence[Any] | None = None) -> Slots:
    """The slots of a Schedule (`cron`) or ScheduleOnDates (`dates`, rendered by the caller
    when they are an expression) definition."""
    tz = trigger.get("timezone")
    if trigger.get("cron"):
        return Slots(cron=Cron(str(trigger["cron"]), bool(trigger.get("withSeconds")), tz), timezone=tz)
    raw = dates if dates is not None else trigger.get("dates") or []
    parsed = sorted({parse_date(d, tz) for d in raw})
    return Slots(dates=tuple(parsed), timezone=tz)


@dataclass(frozen=True)
class Policy:
    """The properties that decide what a late slot does."""

    recover: str = RECOVER_DEFAULT
    late_maximum: timedelta | None = None
    grace: timedelta = timedelta(seconds=60)
    """Under NONE, how late a slot may still fire before it counts as missed."""

    @classmethod
    def of(cls, trigger: Mapping[str, Any], grace: timedelta = timedelta(seconds=60)) -> Policy:
        late = trigger.get("lateMaximumDelay")
        return cls(recover=str(trigger.get("recoverMissedSchedules") or RECOVER_DEFAULT),
                   late_maximum=timedelta(seconds=parse_duration(str(late))) if late else None, grace=grace)


@dataclass
class Decision:
    slot: datetime | None
    """The slot to fire now, or None."""
    next_date: datetime | None
    """The next slot to wait for (None: the schedule has no more slots)."""
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    """Slots passed over, with the reason (the first one of a run of missed slots stands for all)."""


def decide(slots: Slots, policy: Policy, next_date: datetime | None, now: datetime,
           conditions_hold: Callable[[datetime], bool] = lambda _slot: True) -> Decision:
    """The decision for a trigger whose next slot is `next_date` (≤ now when it is due)."""
    if next_date is None or next_date > now:
        return Decision(None, next_date if next_date is not None else slots.next_after(now))
    slot: datetime | None = next_date
    skipped: list[tuple[datetime, str]] = []
    if policy.recover in ("LAST", "NONE"):
        latest = slots.latest_at_or_before(now) or next_date
        if latest > next_date:
            skipped.append((next_date, "missed"))
        slot = max(latest, next_date)
        if policy.recover == "NONE" and now - slot > policy.grace:
            skipped.append((slot, "missed"))
            return Decision(None, slots.next_after(now), skipped)
    assert slot is not None
    if policy.late_maximum is not None and now - slot > policy.late_maximum:
        skipped.append((slot, "late"))
        slot = slots.next_after(now - policy.late_maximum - TINY)
        if slot is None or slot > now:
            return Decision(None, slot, skipped)
    if not conditions_hold(slot):
        skipped.append((slot, "conditions"))
        return Decision(None, slots.next_after(slot), skipped)
    return Decision(slot, slots.next_after(slot), skipped)
