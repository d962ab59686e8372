"""`GET|POST|PUT /api/v1/executions/webhook/{namespace}/{flowId}/{key}[/{path…}]` (KESTRA.md §4.4;
the sub-path form is Kestra 1.x's, the same trigger with `trigger.path` set).

Thin: no authentication (the key in the URL is the credential), a capped body, a per-client
limit on failed look-ups so keys cannot be guessed at speed (RELIABILITY.md #26), then
`webhooks.trigger`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.executions.api.serializers import execution_json
from apps.triggers import webhooks

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MISS_WINDOW_SECONDS = 60


def max_body_bytes() -> int:
    return int(getattr(settings, "WEIR_WEBHOOK_MAX_BYTES", None)
               or getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or DEFAULT_MAX_BYTES)


def _too_large() -> Response:
    return Response({"message": f"The request body is larger than {max_body_bytes()} bytes"}, status=413)


def _miss_key(request: Request) -> str:
    return f"weir:webhook-miss:{request.META.get('REMOTE_ADDR', '')}"


def _misses_exceeded(request: Request) -> bool:
    limit = int(getattr(settings, "WEIR_WEBHOOK_MISS_LIMIT", 60))
    return int(cache.get(_miss_key(request), 0)) >= limit


def _count_miss(request: Request) -> None:
    key = _miss_key(request)
    if not cache.add(key, 1, MISS_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, MISS_WINDOW_SECONDS)


def _read_body(request: Request) -> bytes | None:
    """At most the limit plus one byte is read, whatever Content-Length claims."""
    limit = max_body_bytes()
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise RequestDataTooBig()
    body: bytes = request._request.read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig()
    return body


class Webhook(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []

    @extend_schema(request=OpenApiTypes.ANY, responses={200: OpenApiTypes.OBJECT, 204: None, 404: OpenApiTypes.OBJECT},
                   summary="Trigger a flow through one of its Webhook triggers", tags=["executions"])
    def post(self, request: Request, namespace: str, flow_id: str, key: str, webhook_path: str = "") -> Response:
        if _misses_exceeded(request):
            return Response({"message": "Too many failed webhook calls; retry later"}, status=429)
        try:
            body = None if request.method == "GET" else _read_body(request)
        except RequestDataTooBig:
            return _too_large()
        call = webhooks.WebhookRequest(namespace=namespace, flow_id=flow_id, key=key, body=body,
                                       headers=dict(request.headers),
                                       parameters={k: request.query_params.getlist(k) for k in request.query_params},
                                       path=webhook_path)
        try:
            row = webhooks.trigger(call)
        except webhooks.WebhookNotFound:
            _count_miss(request)
            return Response({"message": webhooks.NOT_FOUND_MESSAGE}, status=404)
        if row is None:
            return Response(status=204)
        return Response(execution_json(row), status=200)

    get = put = post


@extend_schema_view(
    get=extend_schema(operation_id="api_v1_executions_webhook_path_retrieve"),
    post=extend_schema(operation_id="api_v1_executions_webhook_path_create"),
    put=extend_schema(operation_id="api_v1_executions_webhook_path_update"),
)
class WebhookAtPath(Webhook):
    """The same Webhook trigger called at a sub-path, which the flow reads as `{{ trigger.path }}`."""


urlpatterns = [
    re_path(r"^executions/webhook/(?P<namespace>[^/]+)/(?P<flow_id>[^/]+)/(?P<key>[^/]+)$", Webhook.as_view(),
            name="api-executions-webhook"),
    re_path(r"^executions/webhook/(?P<namespace>[^/]+)/(?P<flow_id>[^/]+)/(?P<key>[^/]+)/(?P<webhook_path>.+)$",
            WebhookAtPath.as_view()),
]
