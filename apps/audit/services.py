"""Recording and reading the audit log (apps/audit/README.md).

`record()` is the one function every writer calls, inside the writer's transaction, so an event
exists exactly when its change was committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.audit import ports
from apps.audit.context import current_user
from apps.audit.models import AuditEvent
from apps.core.errors import BadRequest


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def record(actor: Any, action: str, *, namespace: str | None, target_type: str, target_id: str,
           before: Any = None, after: Any = None) -> AuditEvent | None:
    """Append an event. `actor` None means "whoever the current request is authenticated as".

    Changes with no human or service-account actor (the engine, schedules, webhooks) are not
    audited: their trail is the execution's own history. Returns the event, or None when skipped.
    """
    if actor is None or not getattr(actor, "is_authenticated", False):
        actor = current_user()
    if actor is None:
        return None
    return AuditEvent.objects.create(
        actor=actor, actor_name=actor.get_username(), action=action, namespace=namespace or "",
        target_type=target_type, target_id=str(target_id), before=_jsonable(before), after=_jsonable(after),
    )


def readable_events(user: Any) -> QuerySet[AuditEvent]:
    """Events of namespaces `user` may read, plus their own events that belong to no namespace
    (API tokens); a superuser reads everything."""
    events = AuditEvent.objects.all()
    if user is not None and getattr(user, "is_superuser", False) and user.is_active:
        return events
    if user is None or not getattr(user, "is_authenticated", False):
        return events.none()
    scoped = ports.readable.call(events.exclude(namespace=""), user)
    return scoped | events.filter(namespace="", actor=user)


@dataclass(frozen=True)
class Filters:
    namespace: str = ""
    user: str = ""
    action: str = ""
    after: datetime | None = None
    before: datetime | None = None

    def as_query(self) -> dict[str, str]:
        pairs = {"namespace": self.namespace, "user": self.user, "action": self.action,
                 "after": self.after.isoformat() if self.after else "",
                 "before": self.before.isoformat() if self.before else ""}
        return {k: v for k, v in pairs.items() if v}


def _when(name: str, raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
        day = parse_date(raw) if value is None else None
    except ValueError:  # well formed but impossible, such as month 13
        value = day = None
    if day is not None:
        value = datetime(day.year, day.month, day.day)
    if value is None:
        raise BadRequest(f"'{name}' must be an ISO date or date-time, got {raw!r}")
    return value if value.tzinfo else timezone.make_aware(value, timezone.get_default_timezone())


def parse_filters(params: Any) -> Filters:
    """Filters from query parameters; a bad date is a 400 naming the parameter."""
    return Filters(
        namespace=str(params.get("namespace", "")).strip(), user=str(params.get("user", "")).strip(),
        action=str(params.get("action", "")).strip(),
        after=_when("after", str(params.get("after", ""))), before=_when("before", str(params.get("before", ""))),
    )


def search(user: Any, filters: Filters) -> QuerySet[AuditEvent]:
    """Readable events matching `filters`, newest first. A namespace matches itself and its
    children by dotted segment (`prod` covers `prod.x`, never `prodx`); an action ending in `.`
    is a prefix (`flow.` → every flow action)."""
    events = readable_events(user)
    if filters.namespace:
        events = events.filter(Q(namespace=filters.namespace) | Q(namespace__startswith=filters.namespace + "."))
    if filters.user:
        events = events.filter(actor_name=filters.user)
    if filters.action:
        events = (events.filter(action__startswith=filters.action) if filters.action.endswith(".")
                  else events.filter(action=filters.action))
    if filters.after:
        events = events.filter(created_at__gte=filters.after)
    if filters.before:
        events = events.filter(created_at__lt=filters.before)
    return events.select_related(None).order_by("-created_at", "-id")


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk, "date": event.created_at.isoformat(), "user": event.actor_name or None,
        "action": event.action, "namespace": event.namespace or None,
        "target": {"type": event.target_type, "id": event.target_id},
        "before": event.before, "after": event.after,
    }
