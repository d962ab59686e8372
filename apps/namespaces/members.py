"""Who holds which role on a namespace: list, grant, revoke (OWNERs only).

A member is a user (people and service accounts alike) or a group. One binding per subject and
namespace: granting again replaces the role. Bindings on ancestors show up as inherited, since
they count here too, but are changed on the ancestor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from apps.audit.services import record
from apps.core.errors import NotFound, Problem, Unprocessable
from apps.namespaces import services
from apps.namespaces.models import Binding, Role
from apps.namespaces.permissions import Action, require

KINDS = ("users", "groups")


def parse_role(raw: Any) -> Role:
    name = str(raw or "").upper()
    if name not in Role.names:
        raise Unprocessable(f"unknown role {raw!r}", [Problem(
            path="role", message=f"one of {', '.join(Role.names)}")])
    return Role[name]


@dataclass(frozen=True)
class Member:
    binding: Binding
    inherited: bool

    def as_json(self) -> dict[str, Any]:
        b = self.binding
        kind, name = ("user", b.user.get_username()) if b.user else ("group", b.group.name if b.group else "")
        return {"kind": kind, "name": name, "role": Role(b.role).label, "namespace": b.namespace or "*",
                "inherited": self.inherited,
                "serviceAccount": bool(b.user and getattr(b.user, "is_service_account", False))}


def _subject(kind: str, name: str) -> dict[str, Any]:
    if kind == "users":
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise NotFound(f"user {name!r} not found")
        return {"user": user}
    if kind == "groups":
        group = Group.objects.filter(name=name).first()
        if group is None:
            raise NotFound(f"group {name!r} not found")
        return {"group": group}
    raise NotFound(f"member kind {kind!r} not found: use one of {', '.join(KINDS)}")


def members(user: Any, namespace: str) -> list[Member]:
    """Bindings on `namespace` and, marked inherited, on its ancestors and tenant-wide."""
    services.get(user, namespace)
    require(user, Action.OWNER, namespace)
    covering = [*services.ancestors_and_self(namespace), ""]
    rows = (Binding.objects.filter(namespace__in=covering).select_related("user", "group")
            .order_by("namespace", "group__name", "user__username"))
    return [Member(b, inherited=b.namespace != namespace) for b in rows]


def grant(user: Any, namespace: str, kind: str, name: str, role: Role) -> tuple[Binding, bool]:
    """Bind `role` to the subject on `namespace` (replacing its role there). Returns (row, created)."""
    services.get(user, namespace)
    require(user, Action.OWNER, namespace)
    subject = _subject(kind, name)
    with transaction.atomic():
        row = Binding.objects.select_for_update().filter(namespace=namespace, **subject).first()
        before = Role(row.role).label if row else None
        created = row is None
        if row is None:
            row = Binding.objects.create(namespace=namespace, role=role, created_by=user, **subject)
        elif row.role != role:
            row.role = role
            row.save(update_fields=["role"])
        record(user, "binding.create" if created else "binding.update", namespace=namespace,
               target_type="binding", target_id=f"{kind}/{name}", before={"role": before} if before else None,
               after={"role": Role(role).label})
    return row, created


def revoke(user: Any, namespace: str, kind: str, name: str) -> None:
    services.get(user, namespace)
    require(user, Action.OWNER, namespace)
    subject = _subject(kind, name)
    with transaction.atomic():
        deleted, _ = Binding.objects.filter(namespace=namespace, **subject).delete()
        if not deleted:
            raise NotFound(f"{kind[:-1]} {name!r} holds no role on {namespace!r} itself")
        record(user, "binding.delete", namespace=namespace, target_type="binding", target_id=f"{kind}/{name}")


def bindings_of(subject_user: Any = None, group: Group | None = None) -> list[Binding]:
    """Every binding of one user (own, not through groups) or one group, for their pages."""
    q = Q(user=subject_user) if subject_user is not None else Q(group=group)
    return list(Binding.objects.filter(q).order_by("namespace"))
