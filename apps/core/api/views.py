"""API fallbacks: unknown /api/v1 paths answer 401 to anonymous callers, 404 JSON otherwise,
so the API's surface is not an oracle for the unauthenticated (RELIABILITY.md §4 #24)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import NotFound


@extend_schema(exclude=True)
class UnknownEndpoint(APIView):
    def dispatch_any(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(f"no such endpoint: {request.method} {request.path}")

    get = post = put = patch = delete = dispatch_any
