"""Server-Sent Events: `GET /executions/{id}/follow` and `GET /logs/{id}/follow` (KESTRA.md §7.2).

Kestra streams with SSE only; its UI and its SDKs (kestrapy's `follow_execution`,
`follow_logs_from_execution`) read these streams. Weir's browser pages use WebSockets
(apps/live); these endpoints serve Kestra's clients.

Each stream polls the database (the truth; Redis is only a doorbell) and ends by itself when the
execution has ended and everything it wrote was sent, or after `WEIR_FOLLOW_MAX_SECONDS` (a
client reconnects). A comment line every `KEEPALIVE` seconds keeps proxies from closing an idle
stream. Events are rendered by the API's configured JSON renderer, so they are masked exactly
like the JSON answers (apps/secrets/renderers.py).

A stream can last as long as its execution, so it must not hold one of the web server's threads:
`config/asgi.py` sends these GETs to Django's ASGI handler (`STREAM_PATH`), where the response is
an async iterator that sleeps on the event loop and reads the database in a worker thread only
for the length of one poll (`database_sync_to_async`). Served by a WSGI handler (the test client,
`config.wsgi`), the same polls run in a plain generator. Both drive one `Follow.step()`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.core.api.kestra1 import rewrite
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


STREAM_PATH = re.compile(r"^/api/v1/(?:executions|logs)/[^/]+/follow$")
END = b"event: end\ndata: \n\n"
KEEPALIVE_LINE = b": keep-alive\n\n"


def is_stream(method: str, path: str) -> bool:
    """True for a request these views answer with a stream (in Kestra 1.x form or Weir's)."""
    return method == "GET" and bool(STREAM_PATH.match(rewrite(path)[0]))


class Follow:
    """One stream's state; `step()` is one poll: the chunks to send now and whether it is over."""

    def __init__(self) -> None:
        self.quiet = time.monotonic()
        self.deadline = _deadline()

    def poll(self) -> tuple[list[bytes], bool]:
        raise NotImplementedError

    def step(self) -> tuple[list[bytes], bool]:
        if time.monotonic() >= self.deadline:
            return [END], True
        chunks, over = self.poll()
        if over:
            return [*chunks, END], True
        if chunks:
            self.quiet = time.monotonic()
        elif time.monotonic() - self.quiet > KEEPALIVE:
            self.quiet = time.monotonic()
            chunks = [KEEPALIVE_LINE]
        return chunks, False


class FollowExecutionState(Follow):
    def __init__(self, execution_id: str, render: Callable[[Any], bytes]) -> None:
        super().__init__()
        self.execution_id, self.render, self.last = execution_id, render, b""

    def poll(self) -> tuple[list[bytes], bool]:
        current = Execution.objects.filter(pk=self.execution_id).first()
        if current is None:
            return [], True
        body = self.render(full_execution_json(current))
        chunks = []
        if body != self.last:
            self.last = body
            chunks.append(b"id: progress\ndata: " + body + b"\n\n")
        return chunks, State(current.state) in TERMINATED


class FollowLogLines(Follow):
    def __init__(self, row: Execution, levels: list[str], render: Callable[[Any], bytes]) -> None:
        super().__init__()
        self.row, self.levels, self.render, self.after = row, levels, render, -1

    def poll(self) -> tuple[list[bytes], bool]:
        ended = _ended(self.row.id)  # read before the lines: nothing written before it is lost
        chunks: list[bytes] = []
        while True:
            lines = list(LogLine.objects.filter(execution_id=self.row.id, seq__gt=self.after, level__in=self.levels)
                         .order_by("seq")[:BATCH])
            for line in lines:
                self.after = line.seq
                chunks.append(_event(self.render, log_json(line, self.row), event_id=str(line.seq)))
            if len(lines) < BATCH:
                return chunks, ended
            if len(chunks) >= 4 * BATCH:  # send these first; the next poll reads on
                return chunks, False


def _blocking(follow: Follow) -> Iterator[bytes]:
    while True:
        chunks, over = follow.step()
        yield from chunks
        if over:
            return
        time.sleep(POLL)


async def _nonblocking(follow: Follow) -> AsyncIterator[bytes]:
    step = database_sync_to_async(follow.step, thread_sensitive=False)
    while True:
        chunks, over = await step()
        for chunk in chunks:
            yield chunk
        if over:
            return
        await asyncio.sleep(POLL)


def _sse(request: Request, follow: Follow) -> StreamingHttpResponse:
    asgi = isinstance(request._request, ASGIRequest)
    response = StreamingHttpResponse(_nonblocking(follow) if asgi else _blocking(follow),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class FollowExecution(APIView):
    renderer_classes = SSE_RENDERERS
    @extend_schema(responses={(200, "text/event-stream"): OpenApiTypes.STR}, tags=["executions"],
                   summary="SSE: the execution (with its task runs) on every change; `end` when it ends")
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        row = readable(request.user, execution_id)
        return _sse(request, FollowExecutionState(row.id, _renderer(request)))


class FollowLogs(APIView):
    renderer_classes = SSE_RENDERERS
    @extend_schema(parameters=[OpenApiParameter("minLevel", str, enum=list(search.LEVELS))],
                   responses={(200, "text/event-stream"): OpenApiTypes.STR}, tags=["logs"],
                   summary="SSE: the execution's log lines as they are written; ends with the execution")
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        row = readable(request.user, execution_id)
        search.refuse_unknown(request.query_params, {"minLevel"})
        levels = search.levels_from(request.query_params.get("minLevel"))
        return _sse(request, FollowLogLines(row, list(levels), _renderer(request)))
