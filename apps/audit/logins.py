"""Logins in the audit log: every success, every failure, every lockout (apps/audit/README.md).

A login has no namespace and, when it fails, often no user: the event keeps the username that
was typed (`actor_name`) and the client's address. Only interactive logins are recorded: a login
made without an HTTP POST (a test's `force_login`, code that logs a user in after creating it)
is not an attempt anyone typed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed

from apps.audit.models import AuditEvent

MAX_NAME = 150


def _client(request: Any) -> dict[str, Any]:
    meta = getattr(request, "META", {}) or {}
    return {"ip": meta.get("REMOTE_ADDR") or None, "path": getattr(request, "path", "") or None}


def _interactive(request: Any) -> bool:
    return request is not None and getattr(request, "method", None) == "POST"


def _save(action: str, name: str, user: Any, request: Any, **facts: Any) -> None:
    AuditEvent.objects.create(actor=user, actor_name=name[:MAX_NAME], action=action, namespace="",
                              target_type="user", target_id=name[:300], after={**_client(request), **facts})


def logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if _interactive(request) and user is not None:
        _save("login.success", user.get_username(), user, request)


def login_failed(sender: Any, credentials: dict[str, Any] | None = None, request: Any = None,
                 **kwargs: Any) -> None:
    if not _interactive(request):
        return
    name = str((credentials or {}).get(get_user_model().USERNAME_FIELD) or (credentials or {}).get("username") or "")
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: name}).first() if name else None
    locked = bool(getattr(request, "axes_locked_out", False))
    _save("login.lockout" if locked else "login.failure", name, user, request)


def connect() -> None:
    """Called by the app's ready(): Django sends these signals from `authenticate()` and `login()`."""
    user_logged_in.connect(logged_in, dispatch_uid="weir-audit-login")
    user_login_failed.connect(login_failed, dispatch_uid="weir-audit-login-failed")
