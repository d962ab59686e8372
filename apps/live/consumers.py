"""The WebSocket consumers: one execution (`/ws/v1/executions/{id}`) and the list stream
(`/ws/v1/executions`). Protocol in apps/live/README.md.

Resume without loss or duplicates: the consumer joins the execution's group *before* its first
read, then sends everything the database holds after the client's `after` seq; from then on
each notification (or, as a safety net, a periodic tick while the execution runs) triggers a
read of what this connection has not been sent yet. Log lines of one execution are committed
in `seq` order under its row lock (runner.append_logs), so "seq > last sent" never skips one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.live import groups, publish, snapshot
from apps.live.limits import CLOSE_BAD_DATA, CLOSE_TOO_BIG, MAX_FRAME_BYTES
from apps.namespaces.permissions import Action, can

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.05
"""Notifications arriving this close together are served by one read (log floods batch up)."""
TICK_RUNNING = 2.0
"""Re-read this often while the execution runs, even without notifications (the worker's claim
of a task run, a notification lost with a broker hiccup, a worker in another process on the
in-memory layer)."""
TICK_TERMINATED = 30.0
PERMISSION_CACHE_SECONDS = 30.0
AFTER = re.compile(r"[0-9]{1,18}")
"""A log seq the database can compare (a bigint), in ASCII digits."""


class LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Shared plumbing: authentication at connect, typed error frames, query parameters, frame
    checks, and background work that ends with the socket."""

    async def refuse(self, status: int, message: str, code: int | None = None) -> None:
        """Tell the client why in a JSON frame, stop the background work, then close with `code`
        (by default 4000 + HTTP status)."""
        self.stop_background()
        await self.send_json({"type": "error", "status": status, "message": message})
        await self.close(code=4000 + status if code is None else code)

    def stop_background(self) -> None:
        """Cancel what this connection started (subclasses that start work override this)."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """A client frame: at most MAX_FRAME_BYTES of JSON object, else an error frame and a close
        (1009 too big, 1003 not a JSON object) instead of an exception that kills the consumer."""
        size = len(text_data.encode("utf-8")) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self.refuse(413, f"frame of {size} bytes: the limit is {MAX_FRAME_BYTES} bytes", CLOSE_TOO_BIG)
            return
        try:
            content = json.loads(text_data if text_data is not None else (bytes_data or b""))
        except ValueError:
            content = None
        if not isinstance(content, dict):
            await self.refuse(400, 'frames must be JSON objects: the only client message is {"type": "ping"}',
                              CLOSE_BAD_DATA)
            return
        await self.receive_json(content)

    def query(self, name: str) -> str:
        values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get(name)
        return values[0].strip() if values else ""

    def user(self) -> Any:
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated and user.is_active else None

    async def accept_authenticated(self) -> Any:
        publish.register_consumer_loop(asyncio.get_running_loop())
        await self.accept()
        user = self.user()
        if user is None:
            await self.refuse(401, "authentication required: log in, or send an API token "
                                   "(Authorization: Bearer … or ?token=…)")
        return user

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "seq": getattr(self, "sent_seq", 0)})
            return
        await self.send_json({"type": "error", "status": 400,
                              "message": "unknown message: the only client message is {\"type\": \"ping\"}"})


class ExecutionConsumer(LiveConsumer):
    """Task-run snapshot, then deltas, and every log line after `?after=<seq>`, in order."""

    execution_id = ""
    group = ""
    pump: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.execution_id = str(self.scope["url_route"]["kwargs"]["execution_id"])
        user = await self.accept_authenticated()
        if user is None:
            return
        raw = self.query("after") or "0"
        if not AFTER.fullmatch(raw):
            await self.refuse(400, f"after={raw!r}: expected the last log seq you received (an integer >= 0)")
            return
        if not await database_sync_to_async(self._readable)(user):
            await self.refuse(404, f"Execution '{self.execution_id}' not found")
            return
        self.cursor = snapshot.Cursor(log_seq=int(raw))
        self.group = groups.execution(self.execution_id)
        self.wake = asyncio.Event()
        await self.channel_layer.group_add(self.group, self.channel_name)  # before the first read
        self.pump = asyncio.create_task(self._pump())

    def _readable(self, user: Any) -> bool:
        row = snapshot.load(self.execution_id)
        return row is not None and can(user, Action.READ, row.namespace)

    @property
    def sent_seq(self) -> int:
        cursor = getattr(self, "cursor", None)
        return cursor.log_seq if cursor is not None else 0

    def stop_background(self) -> None:
        if self.pump is not None:
            self.pump.cancel()

    async def disconnect(self, code: int) -> None:
        self.stop_background()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def live_changed(self, event: dict[str, Any]) -> None:
        self.wake.set()

    async def _pump(self) -> None:
        full, terminated = True, False
        while True:
            try:
                terminated = await self._send_changes(full)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed read is retried on the next wake-up or tick
                log.exception("live sync of execution %s failed", self.execution_id)
            else:
                if full:
                    await self.send_json({"type": "ready", "seq": self.cursor.log_seq})
                full = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), TICK_TERMINATED if terminated else TICK_RUNNING)
            await asyncio.sleep(COALESCE_SECONDS)
            self.wake.clear()

    async def _send_changes(self, full: bool) -> bool:
        """Send what changed since the last frame; True when the execution is terminated."""
        delta = await database_sync_to_async(snapshot.delta)(self.execution_id, self.cursor, full=full)
        if delta is None:
            self.pump = None  # this task is the pump: it ends by raising, not by cancelling itself
            await self.refuse(404, f"Execution '{self.execution_id}' was deleted")
            raise asyncio.CancelledError
        if full or delta.execution or delta.task_runs or delta.removed:
            await self.send_json({"type": "state", "seq": self.cursor.log_seq, "full": full,
                                  "execution": delta.execution, "taskRuns": delta.task_runs,
                                  "removed": delta.removed})
        while True:
            lines = await database_sync_to_async(snapshot.log_lines)(self.execution_id, self.cursor.log_seq)
            if not lines:
                break
            self.cursor.log_seq = lines[-1]["seq"]
            await self.send_json({"type": "logs", "seq": self.cursor.log_seq, "lines": lines})
            if len(lines) < snapshot.LOG_BATCH:
                break
        return bool(delta.terminated)


class ExecutionListConsumer(LiveConsumer):
    """Executions created or changing state, in `?namespace=` (children included) and `?flowId=`.

    Every event is checked against the user's READ permission on its own namespace, so a list
    on a parent namespace hears only the children the user may read.
    """

    group = ""

    async def connect(self) -> None:
        user = await self.accept_authenticated()
        if user is None:
            return
        self.flow_id = self.query("flowId")
        self.permissions: dict[str, tuple[bool, float]] = {}
        self.group = groups.namespace(self.query("namespace"))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "ready", "seq": 0})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _may_read(self, namespace: str) -> bool:
        known = self.permissions.get(namespace)
        if known is not None and time.monotonic() - known[1] < PERMISSION_CACHE_SECONDS:
            return known[0]
        allowed = bool(await database_sync_to_async(can)(self.user(), Action.READ, namespace))
        self.permissions[namespace] = (allowed, time.monotonic())
        return allowed

    async def live_listed(self, event: dict[str, Any]) -> None:
        execution = event.get("execution") or {}
        if self.flow_id and execution.get("flowId") != self.flow_id:
            return
        if not await self._may_read(str(execution.get("namespace", ""))):
            return
        await self.send_json({"type": "execution", "seq": 0, "execution": snapshot.masked(execution)})
