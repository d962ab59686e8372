"""How deep subflows may nest (WEIR_MAX_SUBFLOW_DEPTH): the guard against recursion at run time.

Validation refuses a Subflow that names its own flow literally, but not A → B → A, nor a target
computed by an expression. Each child execution therefore records in `meta.subflowChain` the
`namespace.flowId` of every execution above it, outermost first; creating a child whose chain
would exceed the limit fails the calling task with the chain in the message, so a recursive flow
ends after at most `limit` levels instead of creating executions forever.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.core.errors import Unprocessable

META_KEY = "subflowChain"
SHOWN = 12


def callers_of(parent: Any) -> list[str]:
    """The chain a child of `parent` (an ExecutionData) carries: the parent's own, plus the parent."""
    above = parent.meta.get(META_KEY) or []
    return [*(str(x) for x in above), f"{parent.namespace}.{parent.flow_id}"]


def _shown(chain: list[str]) -> str:
    if len(chain) > SHOWN:
        chain = [*chain[: SHOWN // 2], "…", *chain[-(SHOWN // 2):]]
    return " → ".join(chain)


def check_depth(callers: list[str], namespace: str, flow_id: str) -> None:
    """Refuse a child that would be nested deeper than WEIR_MAX_SUBFLOW_DEPTH levels."""
    limit = int(getattr(settings, "WEIR_MAX_SUBFLOW_DEPTH", 10))
    if len(callers) >= limit:
        raise Unprocessable(f"subflow depth limit {limit} reached: {_shown([*callers, f'{namespace}.{flow_id}'])} "
                            "(a flow that calls itself, directly or through others, needs a condition that "
                            "stops it; the limit is WEIR_MAX_SUBFLOW_DEPTH)")
