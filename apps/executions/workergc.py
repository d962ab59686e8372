"""The garbage collector of worker pool processes (docs/adr/0032).

A pool process keeps, per execution it works on, a cached view of every task run
(`runtime/snapshots.py`): on a 10 000-run fan-out that is some 100 000 objects beside the 200 000
that importing Django, the apps and the plugins left. CPython's full collection visits all of
them, and ran every few seconds (each of the changed runs a decision reads is new objects that
outlive two young collections): 0.17 s per collection, about 0.1 ms per task run, growing with
the execution. Two changes, at the start of each pool process:

- `gc.freeze()`: the objects of the start-up (modules, settings, compiled flows known then) are
  never garbage; they move to a generation the collector skips.
- higher thresholds: a young collection after `THRESHOLDS[0]` allocations instead of 700, and
  correspondingly fewer older ones. Reference counting frees nearly everything a task allocates;
  the collector only finds cycles, which wait a little longer.

`WEIR_WORKER_GC=700,10,10` restores CPython's defaults (`off` leaves the collector untouched).
"""

from __future__ import annotations

import gc
import os
from typing import Any

THRESHOLDS = (20_000, 20, 20)


def thresholds() -> tuple[int, int, int] | None:
    """The thresholds from WEIR_WORKER_GC, None for `off`; a malformed value gets a clear error."""
    text = os.environ.get("WEIR_WORKER_GC", "").strip()
    if not text:
        return THRESHOLDS
    if text.lower() == "off":
        return None
    parts = text.split(",")
    if len(parts) != 3 or not all(part.strip().isdigit() for part in parts):
        raise ValueError(f"WEIR_WORKER_GC must be 'off' or three integers like 700,10,10, not {text!r}")
    first, second, third = (int(part) for part in parts)
    return first, second, third


def tune(**_: Any) -> None:
    """Freeze what the process has allocated so far and set the thresholds (a pool process's
    `worker_process_init`)."""
    chosen = thresholds()
    if chosen is None:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*chosen)


def connect_signals() -> None:
    from celery.signals import worker_process_init

    worker_process_init.connect(tune, weak=False)
