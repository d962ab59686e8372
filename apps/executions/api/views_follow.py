"""Server-Sent Events: `GET /executions/{id}/follow` and `GET /logs/{id}/follow` (KESTRA.md §7.2).

Kestra streams with SSE only; its UI and its SDKs (kestrapy's `follow_execution`,
`follow_logs_from_execution`) read these streams. Weir's browser pages use WebSockets
(apps/live); these endpoints serve Kestra's clients.

Each stream polls the database (the truth; Redis is only a doorbell) and ends by itself when the
execution has ended and everything it wrote was sent, or after `WEIR_FOLLOW_MAX_SECONDS` (a
client reconnects). A comment line every `KEEPALIVE` seconds keeps proxies from closing an idle
stream. Events are rendered by the API's configured JSON renderer, so they are masked exactly
like the JSON answers (apps/secrets/renderers.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.engine.states import TERMINATED, State
from apps.executions.access import readable
from apps.executions.api.serializers import full_execution_json, log_json
from apps.executions.models import Execution, LogLine
from apps.executions.records import search

POLL = 0.25
KEEPALIVE = 15.0
BATCH = 500


class EventStreamRenderer(BaseRenderer):
    """Lets `Accept: text/event-stream` through content negotiation; an error before the stream
    starts (401, 404) is still the API's JSON body."""

    media_type = "text/event-stream"
    format = "sse"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Any = None) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


SSE_RENDERERS: list[type[BaseRenderer]] = [*cast("list[type[BaseRenderer]]", api_settings.DEFAULT_RENDERER_CLASSES), EventStreamRenderer]


def _deadline() -> float:
    return time.monotonic() + float(getattr(settings, "WEIR_FOLLOW_MAX_SECONDS", 3600))


def _event(render: Callable[[Any], bytes], data: Any, *, name: str | None = None, event_id: str | None = None
           ) -> bytes:
    head = (f"event: {name}\n" if name else "") + (f"id: {event_id}\n" if event_id else "")
    return head.encode() + b"data: " + render(data) + b"\n\n"


def _renderer(request: Request) -> Callable[[Any], bytes]:
    renderer_class: Any = api_settings.DEFAULT_RENDERER_CLASSES[0]
    renderer = renderer_class()

    def render(data: Any) -> bytes:
        rendered: bytes = renderer.render(data, "application/json", {"request": request})
        return rendered

    return render


def _ended(execution_id: str) -> bool:
    state = Execution.objects.filter(pk=execution_id).values_list("state", flat=True).first()
    return state is None or State(state) in TERMINATED


def _sse(stream: Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class FollowExecution(APIView):
    renderer_classes = SSE_RENDERERS
    @extend_schema(responses={(200, "text/event-stream"): OpenApiTypes.STR}, tags=["executions"],
                   summary="SSE: the execution (with its task runs) on every change; `end` when it ends")
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        row = readable(request.user, execution_id)
        render = _renderer(request)

        def stream() -> Iterator[bytes]:
            last, quiet, deadline = b"", time.monotonic(), _deadline()
            while time.monotonic() < deadline:
                current = Execution.objects.filter(pk=row.id).first()
                if current is None:
                    break
                body = render(full_execution_json(current))
                if body != last:
                    last, quiet = body, time.monotonic()
                    yield b"id: progress\ndata: " + body + b"\n\n"
                if State(current.state) in TERMINATED:
                    break
                if time.monotonic() - quiet > KEEPALIVE:
                    quiet = time.monotonic()
                    yield b": keep-alive\n\n"
                time.sleep(POLL)
            yield b"event: end\ndata: \n\n"

        return _sse(stream())


class FollowLogs(APIView):
    renderer_classes = SSE_RENDERERS
    @extend_schema(parameters=[OpenApiParameter("minLevel", str, enum=list(search.LEVELS))],
                   responses={(200, "text/event-stream"): OpenApiTypes.STR}, tags=["logs"],
                   summary="SSE: the execution's log lines as they are written; ends with the execution")
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        row = readable(request.user, execution_id)
        search.refuse_unknown(request.query_params, {"minLevel"})
        levels = search.levels_from(request.query_params.get("minLevel"))
        render = _renderer(request)

        def stream() -> Iterator[bytes]:
            after, quiet, deadline = -1, time.monotonic(), _deadline()
            while time.monotonic() < deadline:
                ended = _ended(row.id)  # read before the lines: nothing written after it is lost
                lines = list(LogLine.objects.filter(execution_id=row.id, seq__gt=after, level__in=levels)
                             .order_by("seq")[:BATCH])
                for line in lines:
                    after = line.seq
                    yield _event(render, log_json(line, row), event_id=str(line.seq))
                if lines:
                    quiet = time.monotonic()
                    continue
                if ended:
                    break
                if time.monotonic() - quiet > KEEPALIVE:
                    quiet = time.monotonic()
                    yield b": keep-alive\n\n"
                time.sleep(POLL)
            yield b"event: end\ndata: \n\n"

        return _sse(stream())
