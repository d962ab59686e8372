"""Kestra 1.x paths and search filters, served by the same routes as Weir's own API.

Kestra's clients (kestrapy, the Go/Java SDKs, Terraform) speak Kestra 1.x's API: every path has a
tenant after `/api/v1/` (`/api/v1/main/flows`; open source has the single tenant `main`),
execution actions live under `actions/` (`/executions/{id}/actions/kill`) and searches send
`QueryFilter` parameters (apps/core/api/queryfilter.py). This middleware rewrites such a request
into Weir's own form before URL resolution, so there is one routing table, one view per
endpoint and one policy row per route (apps/namespaces/policy.py): any route under `/api/v1/`
is served under `/api/v1/main/` too, with no per-route work.

Another tenant is refused with a 404 by the API's catch-all (after authentication: 401 first),
which names the tenant (apps/core/api/views.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver

from apps.core.api.queryfilter import translate
from apps.core.errors import BadRequest

TENANT = "main"
PREFIX = "/api/v1/"
_ACTION = re.compile(
    r"^executions/(?P<id>[^/]+)/actions/"
    r"(?P<verb>kill|restart|replay-with-inputs|replay|resume/validate|resume|pause|change-status|state|labels|unqueue|force-run"
    r"|eval/[^/]+)$")
"""`actions/{verb}` → `{verb}`. `actions/eval` without a task run has its own route (no 2-segment
form exists: `/executions/{namespace}/{flowId}` creates executions)."""
UNKNOWN_TENANT = "weir.unknown_tenant"


@lru_cache(maxsize=1)
def api_roots() -> frozenset[str]:
    """The first path segments of the routes under /api/v1/ (`flows`, `executions`, …)."""
    roots: set[str] = set()

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern).replace("^", "")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif text.startswith(PREFIX[1:]) and (first := re.match(r"[A-Za-z][\w-]*", text[len(PREFIX) - 1:])):
                roots.add(first.group(0))

    walk(get_resolver().url_patterns, "")
    return frozenset(roots)


def rewrite(path: str) -> tuple[str, str | None]:
    """Weir's path for a Kestra 1.x path, and the unknown tenant it names (if any)."""
    if not path.startswith(PREFIX):
        return path, None
    rest = path[len(PREFIX):]
    first, _, tail = rest.partition("/")
    if first == TENANT:
        rest = tail
    elif first not in api_roots() and tail.partition("/")[0] in api_roots():
        return path, first
    action = _ACTION.match(rest)
    if action:
        rest = f"executions/{action.group('id')}/{action.group('verb')}"
    return PREFIX + rest, None


class Kestra1Middleware:
    """Rewrites Kestra 1.x requests (tenant prefix, `actions/`, `filters[…]`) into Weir's form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PREFIX):
            path, tenant = rewrite(request.path_info)
            if tenant is not None:
                request.META[UNKNOWN_TENANT] = tenant
            elif path != request.path_info:
                # `path` too: renderers and error messages decide on it (secret masking of run-time
                # responses matches /api/v1/executions…, not the tenant-prefixed form).
                request.path = request.path[: len(request.path) - len(request.path_info)] + path
                request.path_info = path
            query = request.META.get("QUERY_STRING", "")
            if "filters" in query:
                try:
                    pairs = translate(parse_qsl(query, keep_blank_values=True))
                except BadRequest as error:
                    return JsonResponse({"message": str(error)}, status=400)
                if pairs is not None:
                    request.META["QUERY_STRING"] = urlencode(pairs)
                    if "GET" in request.__dict__:
                        del request.__dict__["GET"]
        return self.get_response(request)
