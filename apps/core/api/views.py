"""API fallbacks: unknown /api/v1 paths answer 401 to anonymous callers, 404 JSON otherwise,
so the API's surface is not an oracle for the unauthenticated (RELIABILITY.md §4 #24)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.kestra1 import TENANT, UNKNOWN_TENANT
from apps.core.errors import NotFound


@extend_schema(exclude=True)
class UnknownEndpoint(APIView):
    def dispatch_any(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tenant = request.META.get(UNKNOWN_TENANT)
        if tenant is not None:
            raise NotFound(f"no such tenant {tenant!r}: this server has the single tenant {TENANT!r} "
                           f"(/api/v1/{TENANT}/…)")
        raise NotFound(f"no such endpoint: {request.method} {request.path}")

    get = post = put = patch = delete = dispatch_any


def _version() -> str:
    try:
        return version("weir")
    except PackageNotFoundError:
        return "dev"


class Configs(APIView):
    """`GET /configs`: what Kestra's clients read before they sign in (KESTRA.md §7.6). Public,
    as in Kestra: it says which API this is, nothing about flows or users."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(tags=["misc"], summary="Server configuration for clients: version, edition, auth",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"version": _version(), "edition": "OSS", "commitId": None, "uuid": None,
                         "isBasicAuthEnabled": True, "isTaskRunEnabled": False,
                         "isAnonymousUsageEnabled": False, "tenants": {"storage": False, "secret": False},
                         "tenant": TENANT, "server": "weir"})
