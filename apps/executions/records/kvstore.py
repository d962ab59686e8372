"""The namespace KV store (kv tasks, `kv()`) and the legacy state store, on one table."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.executions.models import KVEntry
from apps.plugins.sdk import parse_duration


def _live() -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())


def get(namespace: str, key: str, scope: str = "kv") -> tuple[bool, Any]:
    row = KVEntry.objects.filter(_live(), namespace=namespace, scope=scope, key=key).first()
    return (True, row.value) if row is not None else (False, None)


class KeyExists(Exception):
    pass


def put(namespace: str, key: str, value: Any, *, kind: str = "STRING", ttl: float | None = None,
        overwrite: bool = True, scope: str = "kv") -> None:
    expires = timezone.now() + timedelta(seconds=ttl) if ttl else None
    with transaction.atomic():
        row = KVEntry.objects.select_for_update().filter(namespace=namespace, scope=scope, key=key).first()
        if row is not None:
            if not overwrite and (row.expires_at is None or row.expires_at > timezone.now()):
                raise KeyExists(f"The key '{key}' already exists and overwrite is false")
            row.value, row.kind, row.expires_at = value, kind, expires
            row.save()
            return
        try:
            with transaction.atomic():
                KVEntry.objects.create(namespace=namespace, scope=scope, key=key, value=value, kind=kind,
                                       expires_at=expires)
        except IntegrityError:
            KVEntry.objects.filter(namespace=namespace, scope=scope, key=key).update(
                value=value, kind=kind, expires_at=expires)


def keys(namespace: str, prefix: str | None = None, scope: str = "kv") -> list[str]:
    rows = KVEntry.objects.filter(_live(), namespace=namespace, scope=scope)
    if prefix:
        rows = rows.filter(key__startswith=prefix)
    return sorted(rows.values_list("key", flat=True))


def delete(namespace: str, key: str, scope: str = "kv") -> bool:
    deleted, _ = KVEntry.objects.filter(namespace=namespace, scope=scope, key=key).delete()
    return bool(deleted)


# ---------------------------------------------------------------------------------------------
# The KV API and page (KESTRA.md §7.4): typed values as Kestra's `PUT /namespaces/{ns}/kv/{key}`
# reads them, entries with their dates.

KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Expired(Exception):
    """The key exists but its time to live has passed (Kestra answers 410)."""


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"invalid KV key {key!r}: it must start with a letter or digit and contain only "
                         "letters, digits, '.', '_' and '-'")


def kind_of(value: Any) -> str:
    """The KV type of a JSON value, as the kv.Set task infers it without `kvType`."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    if isinstance(value, dict | list):
        return "JSON"
    return "STRING"


def read_typed(text: str) -> tuple[Any, str]:
    """A PUT body as Kestra's ION reader types it: JSON first (a quoted string stays a STRING,
    numbers, booleans, objects and arrays keep their type); otherwise an ISO date-time with a
    zone is a DATETIME, `yyyy-mm-dd` a DATE, an ISO duration a DURATION, anything else a STRING."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        pass
    else:
        if value is not None:
            return value, kind_of(value)
    if _DATE.match(stripped):
        try:
            date.fromisoformat(stripped)
            return stripped, "DATE"
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            return stripped, "DATETIME"
    except ValueError:
        pass
    if stripped.upper().startswith(("P", "-P")):
        try:
            parse_duration(stripped)
            return stripped, "DURATION"
        except ValueError:
            pass
    return text, "STRING"


def detail(namespace: str, key: str) -> KVEntry | None:
    """The entry, live; None when missing; raises Expired when its time to live has passed."""
    row = KVEntry.objects.filter(namespace=namespace, scope="kv", key=key).first()
    if row is not None and row.expires_at is not None and row.expires_at <= timezone.now():
        raise Expired(f"The requested value for key '{key}' in namespace '{namespace}' has expired")
    return row


def live_entries() -> QuerySet[KVEntry]:
    return KVEntry.objects.filter(_live(), scope="kv")


def delete_many(namespace: str, names: list[str]) -> list[str]:
    """Delete `names` in one statement; the keys that existed."""
    with transaction.atomic():
        rows = KVEntry.objects.filter(namespace=namespace, scope="kv", key__in=names)
        found = sorted(rows.values_list("key", flat=True))
        rows.delete()
    return found
