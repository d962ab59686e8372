"""Cron slots in a time zone (KESTRA.md §4.2), pure: no Django, no clock.

croniter walks *local wall-clock* times; this module turns them into instants with the rule of
docs/adr/0015-schedule-dst.md:

- a slot whose wall-clock time does not exist (the spring-forward gap) fires once, at the first
  valid instant after the gap; several slots of one gap collapse into that one instant;
- a slot whose wall-clock time happens twice (the repeated hour) fires once, at its first
  occurrence.

Every function answers with aware UTC datetimes and takes aware datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from croniter import croniter

NICKNAMES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_OFFSET = re.compile(r"^(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$")
_MAX_STEPS = 100_000


@lru_cache(maxsize=256)
def zone(name: str | None, default: str = "UTC") -> tzinfo:
    """An IANA zone or a fixed offset (`+02:00`, `UTC+2`, `Z`); None: `default`."""
    text = (name or default).strip()
    if text in ("Z", "UTC", "GMT", "UT"):
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes, seconds = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0), seconds=int(seconds or 0))
        return timezone(-delta if sign == "-" else delta)
    return ZoneInfo(text)


def _exists(naive: datetime, tz: tzinfo) -> bool:
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def to_instant(naive: datetime, tz: tzinfo) -> datetime:
    """The instant of a local wall-clock time: its first occurrence, or the end of its gap."""
    if _exists(naive, tz):
        return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    probe = naive.replace(second=0, microsecond=0)
    for _ in range(24 * 60):  # a gap ends on a whole minute, within a day
        probe += timedelta(minutes=1)
        if _exists(probe, tz):
            return probe.replace(tzinfo=tz, fold=0).astimezone(UTC)
    raise ValueError(f"no valid local time after {naive} in {tz}")  # pragma: no cover


@dataclass(frozen=True)
class Cron:
    """A cron expression read in a time zone."""

    expression: str
    with_seconds: bool = False
    timezone: str | None = None

    @property
    def text(self) -> str:
        text = self.expression.strip()
        return NICKNAMES.get(text.lower(), text)

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz).replace(tzinfo=None)

    def _walk(self, start: datetime, forward: bool) -> Iterator[datetime]:
        cron = croniter(self.text, self._local(start), second_at_beginning=self.with_seconds)
        step = cron.get_next if forward else cron.get_prev
        for _ in range(_MAX_STEPS):
            yield to_instant(step(datetime), self.tz)

    def next_after(self, instant: datetime) -> datetime:
        """The first slot strictly after `instant` (memoized: many flows share a cron and a slot)."""
        return _next_after(self, instant)

    def _next_after(self, instant: datetime) -> datetime:
        for slot in self._walk(instant, True):
            if slot > instant:
                return slot
        raise ValueError(f"cron {self.expression!r} has no slot after {instant}")  # pragma: no cover

    def previous_before(self, instant: datetime) -> datetime:
        """The last slot strictly before `instant` (memoized like `next_after`)."""
        return _previous_before(self, instant)

    def _previous_before(self, instant: datetime) -> datetime:
        # Walking back from one second later keeps a slot at `instant - 1s` reachable.
        for slot in self._walk(instant + timedelta(seconds=1), False):
            if slot < instant:
                return slot
        raise ValueError(f"cron {self.expression!r} has no slot before {instant}")  # pragma: no cover

    def slots(self, after: datetime, until: datetime, limit: int = _MAX_STEPS) -> list[datetime]:
        """The slots in (after, until], at most `limit`."""
        found: list[datetime] = []
        current = after
        while len(found) < limit:
            current = self.next_after(current)
            if current > until:
                break
            found.append(current)
        return found


@lru_cache(maxsize=65536)
def _next_after(cron: Cron, instant: datetime) -> datetime:
    return cron._next_after(instant)


@lru_cache(maxsize=65536)
def _previous_before(cron: Cron, instant: datetime) -> datetime:
    return cron._previous_before(instant)
