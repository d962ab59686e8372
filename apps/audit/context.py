"""The request being served, so services that take no `user` argument can still name the actor.

DRF copies the user it authenticates (session or bearer token) onto Django's `HttpRequest`, so
reading `request.user` when an event is recorded gives the API caller as well as the page user.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

_request: ContextVar[HttpRequest | None] = ContextVar("weir_audit_request", default=None)


def current_user() -> Any:
    """The authenticated user of the request being served, or None (engine, scheduler, CLI)."""
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and getattr(user, "is_authenticated", False) else None


class CurrentRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
