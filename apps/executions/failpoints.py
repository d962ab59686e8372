"""Named failpoints for fault-injection tests (RELIABILITY.md §2.0).

`WEIR_FAILPOINT=<name>:exit137` makes the process die with `os._exit(137)` when it reaches the
point `name`; `<name>:sleep:<s>` sleeps; `<name>:raise` raises. Unset (the normal case) it costs
one dictionary lookup.
"""

from __future__ import annotations

import os
import time


def hit(name: str) -> None:
    spec = os.environ.get("WEIR_FAILPOINT")
    if not spec:
        return
    point, _, action = spec.partition(":")
    if point != name:
        return
    if action == "exit137":
        os._exit(137)
    if action.startswith("sleep:"):
        time.sleep(float(action.split(":", 1)[1]))
    elif action == "raise":
        raise RuntimeError(f"failpoint {name}")
