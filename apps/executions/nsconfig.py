"""What a namespace adds to the flows in it: variables and plugin defaults (DESIGN.md §7).

Both are read on the hot path (every decision compiles or renders), so each process keeps them
for a few seconds, like the permission cache: an edit is seen by every process within
`TTL_SECONDS`, and at once by the process that made it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

TTL_SECONDS = 5.0


@dataclass(frozen=True)
class NamespaceConfig:
    variables: dict[str, Any]
    defaults: list[dict[str, Any]]
    defaults_key: str
    """The defaults as canonical JSON: part of the compiled-flow cache key."""


_lock = threading.Lock()
_cache: dict[str, tuple[float, NamespaceConfig]] = {}


def for_namespace(namespace: str) -> NamespaceConfig:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(namespace)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            return hit[1]
    from apps.namespaces.services import defaults_for, variables_for

    defaults = defaults_for(namespace)
    config = NamespaceConfig(variables_for(namespace), defaults, json.dumps(defaults, sort_keys=True))
    with _lock:
        _cache[namespace] = (now, config)
    return config


def forget(namespace: str | None = None) -> None:
    """Drop cached settings (all of them, or one namespace and its children): after an edit."""
    with _lock:
        if namespace is None:
            _cache.clear()
        else:
            for name in [n for n in _cache if n == namespace or n.startswith(namespace + ".")]:
                del _cache[name]
