"""Values an execution computed from secrets, recorded so that every process masks them.

A worker registers what a render derived from a secret (`apps/engine/expressions/taint.py`):
`secret('x') | reverse`, a slice, a base64 of it... Its own masking registry learns the value at
once; a web or ASGI process showing the execution later has never seen it, and unlike a namespace
secret it cannot be looked up by name. So the value is stored here, encrypted like a secret
(`crypto`), keyed by execution, and `remember_executions` loads it before a response, page or
WebSocket frame about that execution is masked.

Recording is idempotent (unique execution + SHA-256 digest, `ON CONFLICT DO NOTHING`) and cached
per process, so a value used by many task runs costs one insert per worker.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable

from django.db import transaction

from apps.secrets import crypto
from apps.secrets.masking import remember_all
from apps.secrets.models import DerivedSecret

MAX_LOADED = 128
"""Derived values loaded per response, most recent first. The masking registry is bounded
(`secrets_mask.MAX_REMEMBERED`); loading more would push out the namespace's own secrets."""

MAX_EXECUTIONS = 200
"""Executions per response whose derived values are loaded (a page of a listing)."""

_CACHE_SIZE = 4096
_recorded: OrderedDict[tuple[str, str], None] = OrderedDict()
_lock = threading.Lock()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def record(execution_id: str, value: str) -> None:
    """Keep `value` (derived from a secret during `execution_id`) for every process's masking."""
    key = (execution_id, _digest(value))
    with _lock:
        if key in _recorded:
            _recorded.move_to_end(key)
            return
    DerivedSecret.objects.bulk_create(
        [DerivedSecret(execution_id=execution_id, digest=key[1], ciphertext=crypto.encrypt(value))],
        ignore_conflicts=True)
    # Inside a transaction (a decision under the execution lock) the row commits with the outputs
    # that show the value; only then may this process skip recording it again.
    transaction.on_commit(lambda: _cache(key))


def _cache(key: tuple[str, str]) -> None:
    with _lock:
        _recorded[key] = None
        while len(_recorded) > _CACHE_SIZE:
            _recorded.popitem(last=False)


def values_for(execution_ids: Iterable[str]) -> list[str]:
    """The derived values of these executions (at most `MAX_LOADED`, most recent first)."""
    ids = sorted(set(execution_ids))[:MAX_EXECUTIONS]
    if not ids:
        return []
    tokens = (DerivedSecret.objects.filter(execution_id__in=ids).order_by("-id")
              .values_list("ciphertext", flat=True)[:MAX_LOADED])
    values = []
    for token in tokens:
        try:
            values.append(crypto.decrypt(token))
        except crypto.InvalidToken:
            continue
    return values


def remember_executions(execution_ids: Iterable[str]) -> None:
    """Make this process mask what these executions derived from secrets."""
    remember_all(reversed(values_for(execution_ids)))

