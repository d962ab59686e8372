"""Groups and service accounts: who exists besides people logging in.

Groups are Django's `auth.Group`; bindings name them like users. Service accounts are `User`
rows with `is_service_account` and no usable password: they act only through API tokens
(`services.create_token`), are bound to namespaces like anyone else, and never log in.
Managing both is for superusers; every authenticated user may see group names and members,
since OWNERs need them to grant roles.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from apps.accounts.models import User
from apps.accounts.services import IssuedToken, create_token
from apps.audit.services import record
from apps.core.errors import Conflict, NotFound, Problem, Unprocessable

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


def _superuser(user: Any) -> None:
    if not (getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser):
        raise PermissionDenied("only a superuser may manage groups and service accounts")


def _checked_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise Unprocessable(f"invalid {what} name {name!r}", [Problem(
            path="name", message="letters, digits and _ . @ + -, starting with a letter or digit, at most 100")])
    return name


def groups() -> QuerySet[Group]:
    return Group.objects.order_by("name")


def group(name: str) -> Group:
    found = Group.objects.filter(name=name).first()
    if found is None:
        raise NotFound(f"group {name!r} not found")
    return found


def group_members(found: Group) -> list[User]:
    return list(User.objects.filter(groups=found).order_by("username"))


def create_group(user: Any, name: Any) -> Group:
    _superuser(user)
    name = _checked_name(name, "group")
    with transaction.atomic():
        if Group.objects.filter(name=name).exists():
            raise Conflict(f"group {name!r} already exists")
        made = Group.objects.create(name=name)
        record(user, "group.create", namespace=None, target_type="group", target_id=name)
    return made


def delete_group(user: Any, name: str) -> None:
    _superuser(user)
    found = group(name)
    with transaction.atomic():
        found.delete()  # its bindings go with it (CASCADE)
        record(user, "group.delete", namespace=None, target_type="group", target_id=name)


def set_membership(user: Any, group_name: str, username: str, member: bool) -> None:
    _superuser(user)
    found = group(group_name)
    person = User.objects.filter(username=username).first()
    if person is None:
        raise NotFound(f"user {username!r} not found")
    with transaction.atomic():
        (person.groups.add if member else person.groups.remove)(found)
        record(user, "group.member.add" if member else "group.member.remove", namespace=None,
               target_type="group", target_id=group_name, after={"user": username})


def service_accounts() -> QuerySet[User]:
    return User.objects.filter(is_service_account=True).order_by("username")


def create_service_account(user: Any, name: Any, description: str = "") -> User:
    _superuser(user)
    name = _checked_name(name, "service account")
    with transaction.atomic():
        if User.objects.filter(username=name).exists():
            raise Conflict(f"a user or service account named {name!r} already exists")
        account = User(username=name, is_service_account=True, first_name=description[:150])
        account.set_unusable_password()
        account.save()
        record(user, "service_account.create", namespace=None, target_type="user", target_id=name)
    return account


def service_account(name: str) -> User:
    found = service_accounts().filter(username=name).first()
    if found is None:
        raise NotFound(f"service account {name!r} not found")
    return found


def issue_token(user: Any, name: str, token_name: str) -> IssuedToken:
    """A new token for a service account; the raw value exists only in the return value."""
    _superuser(user)
    return create_token(service_account(name), token_name or "token")


def user_json(person: User) -> dict[str, Any]:
    return {"username": person.get_username(), "serviceAccount": person.is_service_account,
            "active": person.is_active, "groups": sorted(g.name for g in person.groups.all())}
