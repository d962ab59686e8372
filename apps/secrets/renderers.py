"""The API's JSON renderer: responses that carry run-time data are masked (DESIGN.md §7).

Execution, log, metric and KV responses pass through `secrets_mask.mask_value` after this
process has loaded the secrets of every namespace the response talks about and opened the sealed
SECRET inputs it carries, so a web process that never ran the task still masks what a worker
remembered. Flow sources and other
author-written documents are left alone: masking them would corrupt what an editor saves back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

from apps.secrets.masking import SEALED_PREFIX, mask_value, remember

RUNTIME_PATHS = re.compile(r"^/api/v1/(?:executions|logs|metrics|namespaces/[^/]+/kv)(?:/|$)")
MAX_NAMESPACES = 50


def namespaces_in(data: Any, depth: int = 3) -> set[str]:
    """Values of `namespace` keys in the top levels of a response (a row, or a page of rows)."""
    found: set[str] = set()
    if depth < 0:
        return found
    if isinstance(data, Mapping):
        if isinstance(data.get("namespace"), str):
            found.add(data["namespace"])
        for value in data.values():
            if isinstance(value, Mapping | list):
                found |= namespaces_in(value, depth - 1)
    elif isinstance(data, list):
        for item in data[:1000]:
            found |= namespaces_in(item, depth - 1)
    return found


def sealed_in(data: Any) -> list[str]:
    """Sealed SECRET input envelopes anywhere in a response."""
    if isinstance(data, str):
        return [data] if data.startswith(SEALED_PREFIX) else []
    if isinstance(data, Mapping):
        return [s for value in data.values() for s in sealed_in(value)]
    if isinstance(data, list):
        return [s for value in data for s in sealed_in(value)]
    return []


def executions_in(data: Any, depth: int = 3) -> set[str]:
    """Ids of the executions a response talks about: `executionId` keys, and the `id` (and
    `parentId`) of an execution (a map with `namespace` and `flowId`)."""
    found: set[str] = set()
    if depth < 0:
        return found
    if isinstance(data, Mapping):
        if isinstance(data.get("executionId"), str):
            found.add(data["executionId"])
        if isinstance(data.get("id"), str) and "namespace" in data and "flowId" in data:
            found.add(data["id"])
            if isinstance(data.get("parentId"), str):  # a subflow's inputs come from its parent's values
                found.add(data["parentId"])
        for value in data.values():
            if isinstance(value, Mapping | list):
                found |= executions_in(value, depth - 1)
    elif isinstance(data, list):
        for item in data[:1000]:
            found |= executions_in(item, depth - 1)
    return found


def learn(data: Any) -> None:
    """Remember the secrets a response may show: what its executions derived from secrets, its
    namespaces' secrets and its SECRET inputs (in that order, so the registry's most recent
    entries are the namespaces' own secrets)."""
    from apps.secrets.crypto import InvalidToken
    from apps.secrets.derived import remember_executions
    from apps.secrets.sealing import unseal
    from apps.secrets.services import remember_namespace

    remember_executions(executions_in(data))
    for namespace in sorted(namespaces_in(data))[:MAX_NAMESPACES]:
        remember_namespace(namespace)
    for envelope in sealed_in(data):
        try:
            remember(unseal(envelope))
        except InvalidToken:
            continue


class MaskingJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        request = (renderer_context or {}).get("request")
        if data is not None and request is not None and RUNTIME_PATHS.match(request.path):
            learn(data)
            data = mask_value(data)
        rendered: bytes = super().render(data, accepted_media_type, renderer_context)
        return rendered
