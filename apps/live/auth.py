"""Who is connecting, and from where (DESIGN.md §6-7).

`LiveAuthMiddleware` puts the user in `scope["user"]`: an API token (`Authorization: Bearer`
or `?token=`, for scripts) wins over the session cookie (the browser). `OriginGuard` refuses
the handshake of a browser page from another origin: the session cookie travels with any
cross-site WebSocket, so without this check any web page could read a logged-in user's
executions. A handshake with no Origin is not a browser's (browsers always send one): it must
carry an API token, and is refused otherwise, so a session cookie is honoured only with an
Origin that was checked (docs/adr/0014).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host

Scope = dict[str, Any]
ASGIApp = Any


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def token_of(scope: Scope) -> str | None:
    auth = header(scope, b"authorization")
    if auth:
        parts = auth.split()
        if len(parts) == 2 and parts[0].lower() == "bearer":
            return parts[1]
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def origin_allowed(scope: Scope) -> bool:
    """Same origin as the Host the client connected to (a host Django serves), or trusted; no
    Origin only for a client that authenticates with an API token (docs/adr/0014)."""
    origin = header(scope, b"origin")
    if origin is None:
        return token_of(scope) is not None
    host = header(scope, b"host") or ""
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    parts = urlsplit(origin)
    if parts.netloc.lower() == host.lower() and parts.scheme in ("http", "https"):
        return True
    return origin.rstrip("/") in [o.rstrip("/") for o in getattr(settings, "CSRF_TRUSTED_ORIGINS", [])]


class OriginGuard:
    """Close a WebSocket handshake from a foreign origin (the client sees HTTP 403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.app(scope, receive, send)


def _token_user(raw: str) -> Any:
    from apps.accounts.services import user_for_token

    return user_for_token(raw)


class TokenAuthMiddleware:
    """Replace the session user by the token's owner when a token is given (an invalid token
    leaves the connection anonymous: the consumer then refuses it with a 401 frame)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        raw = token_of(scope)
        if raw is not None:
            from django.contrib.auth.models import AnonymousUser

            user = await database_sync_to_async(_token_user)(raw)
            scope = {**scope, "user": user if user is not None else AnonymousUser(), "auth": "token"}
        return await self.app(scope, receive, send)


def LiveAuthMiddleware(app: ASGIApp) -> ASGIApp:  # a middleware stack, named like channels' ones
    return OriginGuard(AuthMiddlewareStack(TokenAuthMiddleware(app)))
