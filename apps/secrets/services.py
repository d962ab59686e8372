"""Namespace secrets: set, list (names only), delete, and look up with inheritance.

A secret defined on `acme` is visible to `acme.data` and `acme.data.raw`; a secret of the same
name defined lower down overrides it. Names are case-insensitive, stored upper-case, as
Kestra's `SECRET_<NAME>` environment secrets are. Only OWNERs manage secrets; a caller who
cannot read the namespace gets 404 (nothing leaks), one who can read but does not own it, 403.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from apps.audit.services import record
from apps.core.errors import NotFound, Problem, Unprocessable
from apps.flows.spec import NAMESPACE_PATTERN
from apps.namespaces.permissions import Action, can
from apps.secrets import crypto
from apps.secrets.masking import remember_all
from apps.secrets.models import Secret

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_VALUE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Entry:
    """What a listing shows: never the value."""

    key: str
    namespace: str
    inherited: bool
    description: str
    updated_at: datetime
    updated_by: str | None

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "namespace": self.namespace, "inherited": self.inherited,
                "description": self.description, "updateDate": self.updated_at.isoformat(),
                "updatedBy": self.updated_by}


def lineage(namespace: str) -> list[str]:
    """`a.b.c` → `["a", "a.b", "a.b.c"]`: the namespaces whose secrets `a.b.c` sees, root first."""
    parts = namespace.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _check_namespace(namespace: str) -> None:
    if len(namespace) > 150 or not re.match(NAMESPACE_PATTERN, namespace):
        raise NotFound(f"namespace {namespace!r} not found")


def authorize(user: Any, namespace: str) -> None:
    """OWNERs only; 404 for a namespace the user cannot read, 403 for one they only read."""
    _check_namespace(namespace)
    if not can(user, Action.READ, namespace):
        raise NotFound(f"namespace {namespace!r} not found")
    if not can(user, Action.OWNER, namespace):
        raise PermissionDenied(f"only an OWNER of {namespace!r} may manage its secrets")


def normalized_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise Unprocessable(f"invalid secret name {name!r}", problems=[Problem(
            path="key", message="a secret name is a letter or _ then letters, digits or _ (at most 100)")])
    return name.upper()


def set_secret(user: Any, namespace: str, name: str, value: Any, description: str = "") -> tuple[Secret, bool]:
    """Create or replace a secret; returns it and whether it was created."""
    authorize(user, namespace)
    key = normalized_name(name)
    if not isinstance(value, str) or value == "":
        raise Unprocessable("a secret value must be a non-empty string",
                            problems=[Problem(path="value", message="expected a non-empty string")])
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise Unprocessable(f"a secret value is at most {MAX_VALUE_BYTES} bytes",
                            problems=[Problem(path="value", message=f"at most {MAX_VALUE_BYTES} bytes")])
    with transaction.atomic():
        row, created = Secret.objects.select_for_update().get_or_create(
            namespace=namespace, name=key, defaults={"ciphertext": "", "updated_by": _user(user)})
        row.ciphertext = crypto.encrypt(value)
        row.description = str(description or "")[:500]
        row.updated_by = _user(user)
        row.save()
        record(user, "secret.create" if created else "secret.update", namespace=namespace,
               target_type="secret", target_id=key, after={"key": key, "description": row.description})
    return row, created


def delete_secret(user: Any, namespace: str, name: str) -> None:
    authorize(user, namespace)
    key = normalized_name(name)
    with transaction.atomic():
        deleted, _ = Secret.objects.filter(namespace=namespace, name=key).delete()
        if not deleted:
            raise NotFound(f"secret {key!r} not found in namespace {namespace!r}")
        record(user, "secret.delete", namespace=namespace, target_type="secret", target_id=key, before={"key": key})


def list_secrets(user: Any, namespace: str) -> list[Entry]:
    """Names the namespace sees (its own and inherited ones), sorted; values never leave."""
    authorize(user, namespace)
    rows = Secret.objects.filter(namespace__in=lineage(namespace)).select_related("updated_by")
    winners: dict[str, Secret] = {}
    for row in sorted(rows, key=lambda r: len(r.namespace)):
        winners[row.name] = row
    return [Entry(key=r.name, namespace=r.namespace, inherited=r.namespace != namespace, description=r.description,
                  updated_at=r.updated_at, updated_by=r.updated_by.get_username() if r.updated_by else None)
            for _, r in sorted(winners.items())]


def lookup(namespace: str, name: str) -> str | None:
    """The value of secret `name` as `namespace` sees it (the closest definition), or None.

    Run-time only (`secret()`); it does no authorization because the flow's namespace decides.
    """
    rows = Secret.objects.filter(namespace__in=lineage(namespace), name=name.upper()).values_list(
        "namespace", "ciphertext")
    found = max(rows, key=lambda r: len(r[0]), default=None)
    return crypto.decrypt(found[1]) if found else None


def env_secret(name: str) -> str | None:
    """Kestra OSS secrets: `SECRET_<NAME>` holds the base64 of the value (line breaks allowed)."""
    raw = os.environ.get(f"SECRET_{name.upper()}")
    return None if raw is None else base64.b64decode("".join(raw.split())).decode("utf-8")


def resolve(namespace: str, name: str) -> str | None:
    """What `secret(name)` reads in `namespace`: the namespace store (inherited), then the env."""
    value = lookup(namespace, name)
    return value if value is not None else env_secret(name)


def _env_values() -> list[str]:
    values = []
    for key in os.environ:
        if key.startswith("SECRET_"):
            try:
                value = env_secret(key[len("SECRET_"):])
            except (binascii.Error, UnicodeDecodeError):
                continue
            if value:
                values.append(value)
    return values


def values_for(namespace: str) -> list[str]:
    """Every secret value `namespace` can read (for masking what is shown about it)."""
    rows = Secret.objects.filter(namespace__in=lineage(namespace)).values_list("ciphertext", flat=True)
    values = _env_values()
    for token in rows:
        try:
            values.append(crypto.decrypt(token))
        except crypto.InvalidToken:
            continue
    return values


def remember_namespace(namespace: str) -> None:
    """Make this process mask the secrets of `namespace` (a reader that never ran the task)."""
    if namespace and re.match(NAMESPACE_PATTERN, namespace):
        remember_all(values_for(namespace))


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None
