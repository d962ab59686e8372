"""DRF authentication for `Authorization: Bearer <token>` and `Authorization: Basic <user:password>`."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib.auth import authenticate
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


class BasicAuthentication(authentication.BaseAuthentication):
    """Username and password on every request, as Kestra's clients send them (kestrapy's
    `KestraClient(username=…, password=…)`). The check goes through `authenticate()` with the
    request, so the sign-in throttle (backends.LoginThrottleBackend, django-axes) counts and locks
    out failures exactly as on the login page (429 once locked); service accounts have no
    password and cannot use it."""

    keyword = "basic"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("malformed Authorization header: use 'Basic <base64 user:password>'")
        try:
            username, sep, password = base64.b64decode(header[1], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise exceptions.AuthenticationFailed("malformed basic credentials: not base64 of user:password") \
                from error
        if not sep or not username:
            raise exceptions.AuthenticationFailed("malformed basic credentials: not base64 of user:password")
        user = authenticate(request._request, username=username, password=password)
        if user is None or not user.is_active or getattr(user, "is_service_account", False):
            raise exceptions.AuthenticationFailed("invalid username or password")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="weir"'
