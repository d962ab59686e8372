"""Triggers in words, for pages and the editor: "At 09:00, Monday through Friday (Europe/Paris)"
and the next slots. One place, used by the Triggers page, the flow tab and the editor's form
(through `POST /api/v1/triggers/preview`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cron_descriptor import Options, get_description  # type: ignore[import-untyped]

from apps.triggers.cron import NICKNAMES
from apps.triggers.schedule import SCHEDULE, SCHEDULE_ON_DATES, slots_of

PREVIEW_SLOTS = 5


def cron_words(cron: str, with_seconds: bool = False, timezone: str | None = None) -> str:
    """A cron expression read aloud, with its zone: "At 09:00, Monday through Friday (Europe/Paris)"."""
    text = NICKNAMES.get(cron.strip().lower(), cron.strip())
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    options.day_of_week_start_index_zero = True
    try:
        words = str(get_description(text, options))
    except Exception:
        words = text
    return f"{words} ({timezone or 'UTC'})"


def words(trigger: Mapping[str, Any]) -> str:
    """What a trigger definition does, in a few words."""
    kind = str(trigger.get("type") or "")
    if kind == SCHEDULE and trigger.get("cron"):
        return cron_words(str(trigger["cron"]), bool(trigger.get("withSeconds")), trigger.get("timezone"))
    if kind == SCHEDULE_ON_DATES:
        dates = trigger.get("dates")
        return f"On {len(dates)} date(s)" if isinstance(dates, list) else "On the dates of an expression"
    if trigger.get("interval"):
        return f"Every {trigger['interval']}"
    return kind.rsplit(".", 1)[-1]


def next_slots(trigger: Mapping[str, Any], after: datetime, count: int = PREVIEW_SLOTS) -> list[str]:
    """The next `count` slots of a Schedule or ScheduleOnDates, in its zone (ISO-8601)."""
    slots = slots_of(trigger)
    found: list[str] = []
    current: datetime | None = after
    while current is not None and len(found) < count:
        current = slots.next_after(current)
        if current is not None:
            found.append(str(slots.local(current)))
    return found
