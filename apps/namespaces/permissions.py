"""Every authorization decision in Weir goes through these two functions.

For now any authenticated, active user may do anything; the RBAC issue fills in role bindings on
namespaces (READ < EXECUTE < WRITE < OWNER, inherited by child namespaces) without touching the
callers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


class Action(StrEnum):
    READ = "read"
    EXECUTE = "execute"
    WRITE = "write"
    OWNER = "owner"


def is_child_namespace(namespace: str, ancestor: str) -> bool:
    """`prod` covers `prod` and `prod.x`, never `prodx` (dotted segments)."""
    return namespace == ancestor or namespace.startswith(ancestor + ".")


def can(user: Any, action: Action, namespace: str) -> bool:
    """May `user` perform `action` on objects in `namespace`?"""
    return bool(user is not None and user.is_authenticated and user.is_active)


def visible(queryset: QuerySet[M], user: Any, action: Action = Action.READ) -> QuerySet[M]:
    """Restrict `queryset` (of a model with a `namespace` field) to what `user` may `action`."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    return queryset
