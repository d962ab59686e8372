"""Every authorization decision in Weir goes through `can()` and `visible()` (DESIGN.md §7).

A user's grants are their own bindings plus their groups' bindings: (namespace prefix, role).
A binding on `prod` covers `prod` and `prod.x`, never `prodx`; an empty prefix covers every
namespace. Superusers hold everything; anonymous and inactive users nothing.

What a *running flow* may reach in other namespaces (KV, files, logs, subflows, Flow triggers)
is the other half of the rule and lives beside this module, in `reach.py` (ADR 0010).

The grants are read once per user object and kept on it, invalidated by a process-wide
generation that every binding or group-membership change bumps (signals below), and by a short
age limit so that long-lived objects (a WebSocket connection) see other processes' changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length, Substr
from django.db.models.lookups import Exact, In

from apps.core.errors import NotFound

M = TypeVar("M", bound=Model)

GRANTS_MAX_AGE = 5.0
"""Seconds a user object keeps its grants before re-reading them (changes in this process are
seen at once through the generation)."""


class Action(StrEnum):
    READ = "read"
    EXECUTE = "execute"
    WRITE = "write"
    OWNER = "owner"


LEVEL: dict[Action, int] = {Action.READ: 1, Action.EXECUTE: 2, Action.WRITE: 3, Action.OWNER: 4}
"""An action needs a role of at least this level (apps.namespaces.models.Role has the same numbers)."""


def is_child_namespace(namespace: str, ancestor: str) -> bool:
    """`prod` covers `prod` and `prod.x`, never `prodx` (dotted segments); "" covers everything."""
    return ancestor == "" or namespace == ancestor or namespace.startswith(ancestor + ".")


def ancestors(namespace: str) -> list[str]:
    """`a.b.c` → `["a", "a.b"]` (proper ancestors, root first)."""
    parts = namespace.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def compact(prefixes: set[str]) -> list[str]:
    """Drop every prefix covered by another one (`prod` makes `prod.x` redundant)."""
    if "" in prefixes:
        return [""]
    return sorted(p for p in prefixes if not any(a in prefixes for a in ancestors(p)))


@dataclass(frozen=True)
class Grants:
    superuser: bool
    bindings: tuple[tuple[str, int], ...] = ()

    def level(self, namespace: str) -> int:
        if self.superuser:
            return LEVEL[Action.OWNER]
        return max((lvl for prefix, lvl in self.bindings if is_child_namespace(namespace, prefix)), default=0)

    def prefixes(self, action: Action) -> list[str]:
        return compact({prefix for prefix, lvl in self.bindings if lvl >= LEVEL[action]})


NOTHING = Grants(superuser=False)
_generation = 0
_cache: dict[int, tuple[int, float, Grants]] = {}
_CACHE_SIZE = 10_000


def bump_generation() -> None:
    """Forget every cached grant in this process (a binding or a group membership changed)."""
    global _generation
    _generation += 1
    _cache.clear()


def _active(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def grants(user: Any) -> Grants:
    """What `user` holds: one query, then kept per user id in this process (each API request
    loads a new user object, so a per-object cache would not save that query)."""
    if not _active(user):
        return NOTHING
    if user.is_superuser:
        return Grants(superuser=True)
    now = time.monotonic()
    cached = _cache.get(user.pk)
    if cached is not None and cached[0] == _generation and now - cached[1] < GRANTS_MAX_AGE:
        return cached[2]
    from apps.namespaces.models import Binding

    generation = _generation
    rows = Binding.objects.filter(Q(user_id=user.pk) | Q(group__user=user.pk)).values_list("namespace", "role")
    result = Grants(superuser=False, bindings=tuple(sorted(set(rows))))
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[user.pk] = (generation, now, result)
    return result


def can(user: Any, action: Action, namespace: str) -> bool:
    """May `user` perform `action` on objects in `namespace`?"""
    return grants(user).level(namespace) >= LEVEL[action]


def prefix_q(prefixes: list[str], field: str = "namespace") -> Q:
    """The field equals a prefix or lies under one (`p` or `p.…`), tested by equality rather
    than LIKE: prefixes are grouped by length, and a row matches when its first L characters
    are one of the length-L prefixes (a hashed IN) and the name ends there or goes on with a
    dot. One probe per distinct prefix length instead of one LIKE per prefix, under any
    collation, and `_`/`%` in names are plain characters."""
    if "" in prefixes:
        return Q()
    by_length: dict[int, list[str]] = {}
    for prefix in prefixes:
        by_length.setdefault(len(prefix), []).append(prefix)
    q = Q()
    for length, group in sorted(by_length.items()):
        ends = Q(Exact(Length(field), length)) | Q(Exact(Substr(field, length + 1, 1), Value(".")))
        q |= Q(In(Substr(field, 1, length), group)) & ends
    return q


def covered_names_sql(prefixes: list[str]) -> RawSQL:
    """`SELECT name FROM weir_namespace WHERE <name under a prefix>`, as hand-written SQL: the
    same test as `prefix_q`, without the ORM's cost of compiling it on every list request."""
    from apps.namespaces.models import Namespace

    by_length: dict[int, list[str]] = {}
    for prefix in prefixes:
        by_length.setdefault(len(prefix), []).append(prefix)
    terms, params = [], []
    for length, group in sorted(by_length.items()):
        marks = ", ".join(["%s"] * len(group))
        terms.append(f"(SUBSTR(name, 1, {length}) IN ({marks}) AND "
                     f"(LENGTH(name) = {length} OR SUBSTR(name, {length + 1}, 1) = '.'))")
        params += group
    return RawSQL(f"SELECT name FROM {Namespace._meta.db_table} WHERE " + " OR ".join(terms), params)


NAMESPACED_BY_ROWS = frozenset({"flows.Flow", "executions.Execution"})
"""Tables whose every namespace has a Namespace row: flows are saved through
`flows.services`, which creates the row (and ancestors); executions exist only for flows; and a
namespace row cannot be deleted while any flow row, deleted or not, names it. For these,
`visible()` asks "is the namespace one of the covered Namespace rows?" (a hashed semi-join or an
index lookup), which keeps a user with 50 bindings close to a superuser on long lists
(bench/rbac.py). Other tables use `prefix_q`, which needs no such rows."""


def visible(queryset: QuerySet[M], user: Any, action: Action = Action.READ,
            field: str = "namespace") -> QuerySet[M]:
    """Restrict `queryset` (of a model with a namespace field) to what `user` may `action`:
    one SQL condition over the user's compacted prefixes."""
    held = grants(user)
    if held.superuser:
        return queryset
    prefixes = held.prefixes(action)
    if not prefixes:
        return queryset.none()
    if "" in prefixes:
        return queryset
    if queryset.model._meta.label in NAMESPACED_BY_ROWS and field == "namespace":
        return queryset.filter(namespace__in=covered_names_sql(prefixes))
    return queryset.filter(prefix_q(prefixes, field))


def readable(queryset: QuerySet[M], user: Any) -> QuerySet[M]:
    """`visible(queryset, user, Action.READ)`: what the audit log shows (apps/audit/ports.py)."""
    return visible(queryset, user, Action.READ)


def require(user: Any, action: Action, namespace: str, what: str | None = None) -> None:
    """Raise unless `user` may `action` in `namespace`: NotFound (404) when they cannot even read
    it, so nothing leaks; PermissionDenied (403) when they can read it, which tells them why."""
    if can(user, action, namespace):
        return
    if not can(user, Action.READ, namespace):
        raise NotFound(f"{what or 'namespace ' + repr(namespace)} not found")
    raise PermissionDenied(f"you may read {namespace!r} but {action.value.upper()} is needed for this")
