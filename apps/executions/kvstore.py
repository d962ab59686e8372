"""The namespace KV store (kv tasks, `kv()`) and the legacy state store, on one table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.executions.models import KVEntry


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
