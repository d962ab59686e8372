"""The scheduler's heartbeat: when its loop last finished a tick.

Readiness (`apps.executions.health`) reports the scheduler as down when the beat is older than
`WEIR_SCHEDULER_STALE_SECONDS`. The beat lives in Redis next to the worker census, so a web
process on another host sees it; without Redis (the standalone default, where the scheduler is
a thread of the web process) it is kept in this process. Writes are throttled to one every
`WRITE_EVERY` seconds: the loop ticks twice a second and the beat needs no such precision.
"""

from __future__ import annotations

import logging
import time

from apps.executions import census

log = logging.getLogger(__name__)

KEY = "weir:scheduler:heartbeat"
WRITE_EVERY = 2.0
TTL_SECONDS = 3600

_local: float | None = None
_written = 0.0


def beat(now: float | None = None) -> None:
    """Record that the scheduler is alive (called at the end of every tick)."""
    global _local, _written
    stamp = time.time() if now is None else now
    _local = stamp
    if stamp - _written < WRITE_EVERY:
        return
    client = census._client()
    if client is None:
        _written = stamp
        return
    try:
        client.set(KEY, repr(stamp), ex=TTL_SECONDS)
        _written = stamp
    except Exception:  # Redis unreachable: readiness reports the broker; the loop goes on
        log.warning("could not write the scheduler heartbeat", exc_info=True)


def last_beat() -> float | None:
    """When a scheduler last ticked (epoch seconds); None when none ever did.

    Raises when Redis is configured but unreachable, so readiness can say why it does not know.
    """
    client = census._client()
    if client is None:
        return _local
    raw = client.get(KEY)
    return float(raw) if raw is not None else None


def forget() -> None:
    """Tests: start without a beat written by this process."""
    global _local, _written
    _local, _written = None, 0.0
