"""Notifications from the engine to the live views, sent after commit (DESIGN.md §6).

A notification says "execution X changed" (with its state and last log `seq`); it carries no
log text. The database stays the source of truth: a consumer that hears one re-reads what it
has not sent yet, so a lost or coalesced notification costs latency, never a line.

Publishing must never slow down or fail the engine, so `execution_changed` only hands the
message to an event loop and returns:

- with Redis (channels_redis), to a daemon thread owning one loop and its connection pool
  (one per process, recreated after a fork: Celery's prefork workers);
- with the in-memory layer, to the loop the WebSocket consumers of *this process* run on
  (registered by them at connect). With no consumer in the process nobody could listen, so
  nothing is sent. The in-memory layer's queues belong to that loop: sending from another
  loop would not wake the consumers.

Notices are coalesced for `COALESCE_SECONDS` (the latest per group and execution is sent), so
a burst of decisions costs a few sends, and only groups someone joined are sent to (one
pipelined EXISTS per flush: a consumer joins before its first read, so a notice skipped for
want of a member describes a change that read already sees). Broker errors are logged and dropped; so is a backlog
above `MAX_PENDING` (Redis down).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer

from apps.live import groups

log = logging.getLogger(__name__)

MAX_PENDING = 1000
COALESCE_SECONDS = 0.05
CHANGED = "live.changed"
LISTED = "live.listed"

_lock = threading.Lock()
_queued: dict[tuple[str, str], dict[str, Any]] = {}
_flush_scheduled = False
_queued_pid = 0
_consumer_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_own_pid = 0


def register_consumer_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by every consumer at connect: in-memory notifications are delivered on this loop."""
    global _consumer_loop
    _consumer_loop = loop


def _layer() -> BaseChannelLayer | None:
    try:
        return get_channel_layer()
    except Exception:  # a misconfigured layer must not break the engine
        log.exception("no channel layer")
        return None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop (Redis), started on first use and after a fork."""
    global _own_loop, _own_pid
    with _lock:
        if _own_loop is None or _own_pid != os.getpid() or not _own_loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=run, name="weir-live-publisher", daemon=True).start()
            started.wait(5)
            _own_loop, _own_pid = loop, os.getpid()
        return _own_loop


def _target(layer: BaseChannelLayer) -> asyncio.AbstractEventLoop | None:
    if isinstance(layer, InMemoryChannelLayer):
        loop = _consumer_loop
        return loop if loop is not None and loop.is_running() and not loop.is_closed() else None
    return _publisher_loop()


async def _flush_later(layer: BaseChannelLayer) -> None:
    """Send what was queued during the last `COALESCE_SECONDS`: the latest notice per group and
    execution. A notice only says "re-read", so dropping the older ones loses nothing, and a
    burst of decisions (a chain run inline, a wide fan-out) costs a few sends instead of one per
    decision and group."""
    global _flush_scheduled
    await asyncio.sleep(COALESCE_SECONDS)
    with _lock:
        batch = list(_queued.items())
        _queued.clear()
        _flush_scheduled = False
    try:
        wanted = await _listened(layer, sorted({group for (group, _), _ in batch}))
        sends = [layer.group_send(group, message) for (group, _), message in batch if group in wanted]
        for outcome in await asyncio.gather(*sends, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.warning("live notification not delivered: %s", outcome)
    except Exception as error:  # the broker is down: the pages catch up on their next read
        log.warning("live notifications not delivered: %s", error)


async def _listened(layer: BaseChannelLayer, names: list[str]) -> set[str]:
    """The groups in `names` that someone has joined.

    Most notices go to groups nobody watches (an execution page nobody opened, a namespace list
    nobody filters on), and channels_redis spends two round trips per group to find that out.
    One pipeline of EXISTS on its group keys answers for the whole batch; a group that
    channels_redis does not keep as a key (another layer) is assumed listened to."""
    key_of = getattr(layer, "_group_key", None)
    if not isinstance(layer, RedisChannelLayer) or key_of is None or not names:
        return set(names)
    by_connection: dict[int, list[str]] = {}
    for name in names:
        by_connection.setdefault(layer.consistent_hash(name), []).append(name)
    found: set[str] = set()
    for index, members in by_connection.items():
        pipe = layer.connection(index).pipeline(transaction=False)
        for name in members:
            pipe.exists(key_of(name))
        found.update(name for name, exists in zip(members, await pipe.execute(), strict=True) if exists)
    return found


def _submit(execution_id: str, sends: list[tuple[str, dict[str, Any]]]) -> None:
    global _flush_scheduled
    layer = _layer()
    if layer is None:
        return
    loop = _target(layer)
    if loop is None:
        return
    with _lock:
        global _queued_pid
        if _queued_pid != os.getpid():  # a forked worker starts with its parent's queue state
            _queued.clear()
            _flush_scheduled, _queued_pid = False, os.getpid()
        if len(_queued) >= MAX_PENDING:
            log.warning("live notifications backlog full (%d): dropping one", len(_queued))
            return
        for group, message in sends:
            _queued[(group, execution_id)] = message
        if _flush_scheduled:
            return
        _flush_scheduled = True
    coroutine: Coroutine[Any, Any, None] = _flush_later(layer)
    try:
        asyncio.run_coroutine_threadsafe(coroutine, loop)
    except RuntimeError:  # the loop closed between the check and the call
        coroutine.close()
        with _lock:
            _flush_scheduled = False


def execution_changed(execution_id: str, namespace: str, flow_id: str, state: str, log_seq: int,
                      *, start_date: str | None = None, end_date: str | None = None) -> None:
    """Announce a committed change of one execution (state, task runs or log lines)."""
    try:
        summary = {"id": execution_id, "namespace": namespace, "flowId": flow_id, "state": state,
                   "startDate": start_date, "endDate": end_date}
        sends: list[tuple[str, dict[str, Any]]] = [
            (groups.execution(execution_id), {"type": CHANGED, "logSeq": log_seq, "state": state})]
        sends += [(group, {"type": LISTED, "execution": summary}) for group in groups.namespace_fanout(namespace)]
        _submit(execution_id, sends)
    except Exception:  # never fail the engine over a notification
        log.exception("live notification failed for execution %s", execution_id)


def row_changed(row: Any) -> None:
    """`execution_changed` for an Execution model row (what `runner.process` has after saving)."""
    execution_changed(row.id, row.namespace, row.flow_id, row.state, row.log_seq,
                      start_date=row.start_date, end_date=row.end_date)
