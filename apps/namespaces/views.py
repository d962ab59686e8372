"""Namespace pages: the tree, one namespace (settings an OWNER edits), its members.

Thin like the API: every decision is in `services` / `members` (`require`), which raise NotFound
(here Http404) for what the user cannot read and PermissionDenied (403) for what they only read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.core.errors import Conflict, NotFound, Unprocessable
from apps.core.markdown import render_markdown
from apps.namespaces import members, ports, services
from apps.namespaces.models import Role
from apps.namespaces.permissions import Action, can

T = TypeVar("T")


def _or_404(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    error, status = "", 200
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        try:
            _or_404(services.create, request.user, name, {"description": request.POST.get("description", "")})
            messages.success(request, f"Namespace {name} created.")
            return redirect("namespaces:detail", namespace=name)
        except (Unprocessable, Conflict) as exc:
            error, status = str(exc), 409 if isinstance(exc, Conflict) else 422
    return render(request, "namespaces/tree.html", {
        "roots": services.tree(request.user), "error": error,
        "may_create": services.may_create_somewhere(request.user),
    }, status=status)


def _json_field(request: HttpRequest, name: str, key: str, body: dict[str, Any]) -> None:
    raw = request.POST.get(name, "").strip()
    if name not in request.POST:
        return
    try:
        body[key] = json.loads(raw) if raw else ({} if key == "variables" else [])
    except json.JSONDecodeError as exc:
        raise Unprocessable(f"{key}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


@login_required
def detail(request: HttpRequest, namespace: str) -> HttpResponse:
    row = _or_404(services.get, request.user, namespace)
    error, status = "", 200
    if request.method == "POST":
        try:
            body: dict[str, Any] = {"description": request.POST.get("description", "")}
            _json_field(request, "variables", "variables", body)
            _json_field(request, "plugin_defaults", "pluginDefaults", body)
            body["allowedNamespaces"] = [a.strip() for a in request.POST.get("allowed", "").split(",") if a.strip()]
            services.update(request.user, namespace, body)
            messages.success(request, "Namespace saved.")
            return redirect("namespaces:detail", namespace=namespace)
        except Unprocessable as exc:
            error, status = str(exc), 422
    children = [n for root in services.tree(request.user) for n in _walk(root)
                if n.namespace.parent_name == namespace]
    return render(request, "namespaces/detail.html", {
        "ns": row, "description_html": render_markdown(row.description), "error": error,
        "children": [c.namespace for c in children],
        "ancestors": services.ancestors_and_self(namespace)[:-1],
        "variables_json": json.dumps(row.variables, indent=2, sort_keys=True),
        "defaults_json": json.dumps(row.plugin_defaults, indent=2),
        "inherited_variables": json.dumps(services.variables_for(namespace), indent=2, sort_keys=True),
        "is_owner": can(request.user, Action.OWNER, namespace),
    }, status=status)


def _walk(node: services.TreeNode) -> list[services.TreeNode]:
    out = [node]
    for child in node.children:
        out += _walk(child)
    return out


@login_required
def member_list(request: HttpRequest, namespace: str) -> HttpResponse:
    _or_404(services.get, request.user, namespace)
    found = _or_404(members.members, request.user, namespace)  # 403 for non-OWNERs
    error, status, link = "", 200, ""
    if request.method == "POST":
        try:
            link = _member_post(request, namespace)
            if not link:
                return redirect("namespaces:members", namespace=namespace)
            found = members.members(request.user, namespace)
        except (Unprocessable, NotFound) as exc:
            error, status = str(exc), 422
    return render(request, "namespaces/members.html", {
        "namespace": namespace, "members": found, "roles": Role.names, "error": error,
        "invitations": ports.pending_invitations.call(request.user, namespace), "invite_link": link,
    }, status=status)


def _member_post(request: HttpRequest, namespace: str) -> str:
    """Apply one form (grant, revoke, invite). Returns an invitation link to show, or ""."""
    post = request.POST
    if "revoke" in post:
        kind, _, name = post["revoke"].partition("/")
        members.revoke(request.user, namespace, kind, name)
        messages.success(request, f"Removed {name}.")
        return ""
    role = members.parse_role(post.get("role"))
    if "invite" in post:
        sent = ports.invite.call(request.user, namespace, post.get("email", "").strip(), role, request.build_absolute_uri("/"))
        messages.success(request, f"Invitation sent to {sent.invitation.email}." if sent.mailed
                         else f"No mail server is configured: give {sent.invitation.email} the link below.")
        return "" if sent.mailed else sent.link
    kind = "groups" if post.get("kind") == "group" else "users"
    members.grant(request.user, namespace, kind, post.get("name", "").strip(), role)
    messages.success(request, f"{post.get('name')} is now {role.label} on {namespace}.")
    return ""
