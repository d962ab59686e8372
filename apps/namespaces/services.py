"""Namespace use cases: create (explicitly, or implicitly when a flow is saved in one), edit,
delete, the tree, and what children inherit (variables, plugin defaults, allowed callers).

Functions the engine calls: `variables_for`, `defaults_for`. They take no user. What a running
flow may reach in other namespaces (subflows, KV, files…) is `reach.py`'s rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from apps.audit.services import record
from apps.core.errors import Conflict, NotFound, Problem, Unprocessable
from apps.namespaces import ports
from apps.namespaces.models import Namespace
from apps.namespaces.permissions import Action, grants, require, visible

SEGMENT = r"[a-z0-9][a-z0-9_-]*"
NAME = re.compile(rf"^{SEGMENT}(\.{SEGMENT})*$")
MAX_NAME = 150
EDITABLE = ("description", "variables", "pluginDefaults", "allowedNamespaces")


def ancestors_and_self(name: str) -> list[str]:
    """`a.b.c` → `["a", "a.b", "a.b.c"]` (root first)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def check_name(name: str) -> str:
    """A namespace typed by a person: dotted lower-case segments (what flows accept, minus the
    empty segments that `a..b` would make)."""
    if not isinstance(name, str) or len(name) > MAX_NAME or not NAME.match(name):
        raise Unprocessable(f"invalid namespace {name!r}", [Problem(
            path="name", message="a namespace is dot-separated segments of a-z, 0-9, '_' and '-', "
                                 f"each starting with a letter or digit, at most {MAX_NAME} characters")])
    return name


def ensure_namespace(name: str) -> None:
    """Make sure `name` and its ancestors exist as rows (a flow was saved in `name`).

    One indexed lookup when the namespace exists, which is the common case; otherwise the
    missing rows are inserted, tolerating a concurrent insert of the same rows.
    """
    if Namespace.objects.filter(name=name).exists():
        return
    names = [n for n in ancestors_and_self(name) if n]
    Namespace.objects.bulk_create([Namespace(name=n) for n in names], ignore_conflicts=True)


def readable(user: Any) -> QuerySet[Namespace]:
    """Namespace rows `user` may read (a QuerySet)."""
    return visible(Namespace.objects.all(), user, Action.READ, field="name")


def get(user: Any, name: str) -> Namespace:
    row = readable(user).filter(name=name).first()
    if row is None:
        raise NotFound(f"namespace {name!r} not found")
    return row


@dataclass
class TreeNode:
    namespace: Namespace
    children: list[TreeNode] = field(default_factory=list)


def tree(user: Any) -> list[TreeNode]:
    """The readable namespaces as a forest: a node hangs under its nearest readable ancestor."""
    nodes = {row.name: TreeNode(row) for row in readable(user).order_by("name")}
    roots: list[TreeNode] = []
    for name, node in nodes.items():
        parent = next((a for a in reversed(ancestors_and_self(name)[:-1]) if a in nodes), None)
        (nodes[parent].children if parent else roots).append(node)
    return roots


def _checked_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The editable fields of a request body, validated; unknown keys are an error (422)."""
    unknown = sorted(set(body) - set(EDITABLE) - {"name", "id"})
    problems = [Problem(path=k, message=f"unknown field; editable fields are {', '.join(EDITABLE)}")
                for k in unknown]
    out: dict[str, Any] = {}
    if "description" in body:
        if not isinstance(body["description"], str):
            problems.append(Problem(path="description", message="must be a string"))
        else:
            out["description"] = body["description"]
    if "variables" in body:
        if not isinstance(body["variables"], dict):
            problems.append(Problem(path="variables", message="must be an object of name → value"))
        else:
            out["variables"] = body["variables"]
    if "pluginDefaults" in body:
        problems += _check_defaults(body["pluginDefaults"])
        out["plugin_defaults"] = body["pluginDefaults"]
    if "allowedNamespaces" in body:
        allowed = body["allowedNamespaces"]
        if not isinstance(allowed, list) or not all(isinstance(a, str) and (a == "*" or NAME.match(a))
                                                    for a in allowed):
            problems.append(Problem(path="allowedNamespaces", message="must be a list of namespaces or '*'"))
        else:
            out["allowed_namespaces"] = allowed
    if problems:
        raise Unprocessable(f"invalid namespace fields: {problems[0]}", problems)
    return out


def _check_defaults(value: Any) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(path="pluginDefaults", message="must be a list of {type, values, forced}")]
    problems = []
    for i, entry in enumerate(value):
        where = f"pluginDefaults[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str) or not entry["type"]:
            problems.append(Problem(path=f"{where}.type", message="a plugin type (string) is required"))
        elif not isinstance(entry.get("values"), dict):
            problems.append(Problem(path=f"{where}.values", message="must be an object of property → value"))
        elif not isinstance(entry.get("forced", False), bool):
            problems.append(Problem(path=f"{where}.forced", message="must be true or false"))
        elif set(entry) - {"type", "values", "forced"}:
            problems.append(Problem(path=where, message="only type, values and forced are allowed"))
    return problems


def as_json(row: Namespace) -> dict[str, Any]:
    return {"id": row.name, "parent": row.parent_name or None, "description": row.description,
            "variables": row.variables, "pluginDefaults": row.plugin_defaults,
            "allowedNamespaces": row.allowed_namespaces,
            "created": row.created_at.isoformat(), "updated": row.updated_at.isoformat()}


def create(user: Any, name: str, body: dict[str, Any] | None = None) -> Namespace:
    """Create `name` (and missing ancestors). Creating a child needs OWNER on the parent; a root
    namespace needs a superuser (or an OWNER binding on exactly that name, made beforehand)."""
    check_name(name)
    fields = _checked_fields(body or {})
    require(user, Action.OWNER, name, f"namespace {name!r}")
    try:
        with transaction.atomic():
            if Namespace.objects.filter(name=name).exists():
                raise Conflict(f"namespace {name!r} already exists")
            if "." in name:
                ensure_namespace(name.rpartition(".")[0])
            row = Namespace.objects.create(name=name, created_by=user if user.is_authenticated else None,
                                           **fields)
            record(user, "namespace.create", namespace=name, target_type="namespace", target_id=name,
                   after=as_json(row))
    except IntegrityError as exc:
        raise Conflict(f"namespace {name!r} already exists") from exc
    return row


def update(user: Any, name: str, body: dict[str, Any]) -> Namespace:
    row = get(user, name)
    require(user, Action.OWNER, name)
    fields = _checked_fields(body)
    with transaction.atomic():
        before = as_json(row)
        for key, value in fields.items():
            setattr(row, key, value)
        row.save()
        record(user, "namespace.update", namespace=name, target_type="namespace", target_id=name,
               before=before, after=as_json(row))
    return row


def delete(user: Any, name: str) -> None:
    """Only an empty namespace goes: no child namespace and no flow, even a deleted one (409)."""
    row = get(user, name)
    require(user, Action.OWNER, name)
    with transaction.atomic():
        if Namespace.objects.filter(name__startswith=name + ".").exists():
            raise Conflict(f"namespace {name!r} has child namespaces: delete them first")
        # Deleted flows count too: their executions keep naming this namespace, and
        # permissions.visible() relies on every flow's namespace having a row.
        if ports.holds_flows.call(name):
            raise Conflict(f"namespace {name!r} still holds flows or the history of deleted ones")
        from apps.namespaces.models import Binding

        Binding.objects.filter(namespace=name).delete()
        row.delete()
        record(user, "namespace.delete", namespace=name, target_type="namespace", target_id=name)


def _chain(namespace: str) -> list[Namespace]:
    """The rows of `namespace` and its ancestors, root first (missing rows are skipped)."""
    names = ancestors_and_self(namespace)
    rows = {r.name: r for r in Namespace.objects.filter(name__in=names)}
    return [rows[n] for n in names if n in rows]


def variables_for(namespace: str) -> dict[str, Any]:
    """Namespace variables as a flow in `namespace` sees them: merged root → leaf, a child's
    key replacing its ancestor's (a shallow merge: a child restates a whole nested value)."""
    merged: dict[str, Any] = {}
    for row in _chain(namespace):
        if isinstance(row.variables, dict):
            merged.update(row.variables)
    return merged


def defaults_for(namespace: str) -> list[dict[str, Any]]:
    """Plugin defaults from `namespace` and its ancestors, in Kestra's pluginDefaults shape, the
    nearest namespace first. Append them after the flow's own `pluginDefaults`: with
    `validation.apply_plugin_defaults`, a non-forced entry earlier in the list wins (the flow,
    then the nearest namespace) and a forced entry later in the list wins (the root's rules)."""
    out: list[dict[str, Any]] = []
    for row in reversed(_chain(namespace)):
        for entry in row.plugin_defaults or []:
            if isinstance(entry, dict):
                out.append({"type": entry.get("type"), "values": entry.get("values") or {},
                            "forced": bool(entry.get("forced", False))})
    return out


def may_create_somewhere(user: Any) -> bool:
    """Whether to offer "New namespace" at all: a superuser, or an OWNER of something."""
    held = grants(user)
    return held.superuser or bool(held.prefixes(Action.OWNER))
