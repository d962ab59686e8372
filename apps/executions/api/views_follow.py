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
from datetime import UTC, datetime
from typing import Any, cast

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Q
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.core.api.kestra1 import rewrite
from apps.core.errors import BadRequest
from apps.engine.states import TERMINATED, State
from apps.executions.access import readable
from apps.executions.api.serializers import full_execution_json, log_json, state_json
from apps.executions.models import Execution, LogLine
from apps.executions.records import search
from apps.namespaces.permissions import Action, visible

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


STREAM_PATH = re.compile(r"^/api/v1/(?:executions/[^/]+/follow(?:-dependencies)?|logs/[^/]+/follow)$")
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


GRACE = 2.0
"""Seconds after the last end a dependency stream stays open: a Flow trigger starts its
downstream execution just after the upstream one ends (an old execution's stream ends at once)."""


class FollowDependents(Follow):
    """Kestra's `follow-dependencies`: an `ExecutionStatusEvent` each time the execution, or one
    that depends on it (a subflow it started, an execution a Flow trigger started on it), changes
    state. Direct dependents only, unless `expand_all` (theirs too, at any depth);
    `destination_only` leaves the followed execution's own events out. Dependents the caller may
    not read are not shown."""

    def __init__(self, row: Execution, user: Any, render: Callable[[Any], bytes], *, expand_all: bool,
                 destination_only: bool) -> None:
        super().__init__()
        self.root, self.user, self.render = row.id, user, render
        self.expand_all, self.destination_only = expand_all, destination_only
        self.seen: dict[str, str] = {}

    def _dependents(self, ids: set[str]) -> list[Execution]:
        return list(visible(Execution.objects.filter(
            Q(trigger_execution_id__in=ids) | Q(trigger__variables__executionId__in=list(ids))), self.user, Action.READ)
            .exclude(id__in=ids))

    def poll(self) -> tuple[list[bytes], bool]:
        root = Execution.objects.filter(pk=self.root).first()
        if root is None:
            return [], True
        rows, frontier, known = [root], {root.id}, {root.id}
        while frontier:
            found = [r for r in self._dependents(frontier) if r.id not in known]
            rows += found
            known |= {r.id for r in found}
            frontier = {r.id for r in found} if self.expand_all else set()
        chunks = []
        for row in rows:
            if self.seen.get(row.id) == row.state or (self.destination_only and row.id == self.root):
                self.seen[row.id] = row.state
                continue
            self.seen[row.id] = row.state
            chunks.append(_event(self.render, {
                "executionId": row.id, "tenantId": "main", "namespace": row.namespace, "flowId": row.flow_id,
                "state": state_json(row.state, row.history, row.start_date, row.end_date)}))
        if not all(State(r.state) in TERMINATED for r in rows):
            return chunks, False
        return chunks, _seconds_since(max(str(r.end_date or "") for r in rows)) >= GRACE


def _seconds_since(moment: str) -> float:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(moment)).total_seconds()
    except (TypeError, ValueError):  # no end recorded (or no zone): nothing to wait for
        return GRACE


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


def _flag(request: Request, name: str) -> bool:
    raw = str(request.query_params.get(name, "false")).lower()
    if raw not in ("true", "false"):
        raise BadRequest(f"query parameter `{name}` must be true or false")
    return raw == "true"


class FollowDependencies(APIView):
    renderer_classes = SSE_RENDERERS
    @extend_schema(parameters=[OpenApiParameter("expandAll", bool), OpenApiParameter("destinationOnly", bool)],
                   responses={(200, "text/event-stream"): OpenApiTypes.STR}, tags=["executions"],
                   summary="SSE: the state of the execution and of the executions depending on it; "
                           "`end` when all have ended")
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        row = readable(request.user, execution_id)
        search.refuse_unknown(request.query_params, {"expandAll", "destinationOnly"})
        follow = FollowDependents(row, request.user, _renderer(request), expand_all=_flag(request, "expandAll"),
                                  destination_only=_flag(request, "destinationOnly"))
        return _sse(request, follow)
