"""Channel-layer group names: the one place that decides who hears what (DESIGN.md §6).

One group per execution, and one per namespace *prefix* for lists: an execution in `a.b.c` is
announced to `ns.a`, `ns.a.b`, `ns.a.b.c` and to `ns` (every namespace), so a list filtered on
`a` (children included, as everywhere in Weir) joins exactly one group. Channels accepts only
`[A-Za-z0-9._-]` under 100 characters in a group name: anything else is hashed.
"""

from __future__ import annotations

import hashlib
import re

ALL_NAMESPACES = "ns"
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,90}$")


def _safe(prefix: str, name: str) -> str:
    if _SAFE.match(name):
        return f"{prefix}.{name}"
    return f"{prefix}-h.{hashlib.sha256(name.encode()).hexdigest()[:40]}"


def execution(execution_id: str) -> str:
    return _safe("ex", execution_id)


def namespace(prefix: str) -> str:
    """The group a list filtered on `prefix` joins ("" = every namespace)."""
    return _safe("ns", prefix) if prefix else ALL_NAMESPACES


def namespace_fanout(name: str) -> list[str]:
    """Every group that must hear about an execution in namespace `name`."""
    parts = name.split(".")
    return [ALL_NAMESPACES, *(namespace(".".join(parts[: i + 1])) for i in range(len(parts)) if parts[i])]
