"""Who a flow acts as when it reaches another namespace (apps/namespaces/reach.py, ADR 0010).

The answer is read from the flow's revisions, so it lives with them; callers pass it to
`reach.require` as the acting user.
"""

from __future__ import annotations

from typing import Any

from apps.flows.models import FlowRevision


def saved_by(namespace: str, flow_id: str) -> Any:
    """The user who saved the latest revision of the flow (None when unknown or deleted)."""
    row = (FlowRevision.objects.filter(flow__namespace=namespace, flow__flow_id=flow_id)
           .select_related("created_by").order_by("-revision").only("created_by").first())
    return row.created_by if row is not None else None


def authors(namespace: str, flow_id: str, revision: int | None) -> list[Any]:
    """Whose role a flow acts with in another namespace: the user who last saved the flow and,
    when an older revision is running, the user who saved that one too (so nobody can run an
    old revision of theirs under a later author's roles). None stands for an unknown author."""
    latest = saved_by(namespace, flow_id)
    if revision is None:
        return [latest]
    row = (FlowRevision.objects.filter(flow__namespace=namespace, flow__flow_id=flow_id, revision=revision)
           .select_related("created_by").only("created_by").first())
    running = row.created_by if row is not None else None
    return [latest] if running == latest else [latest, running]
