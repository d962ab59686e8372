"""DRF authentication for `Authorization: Bearer <token>`."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.accounts.services import user_for_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Bearer tokens for CI systems and scripts; the browser uses the session instead."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("malformed Authorization header: use 'Bearer <token>'")
        user = user_for_token(parts[1])
        if user is None:
            raise exceptions.AuthenticationFailed("invalid, expired or revoked API token")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="weir"'
