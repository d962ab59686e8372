"""Who may see or act on one execution: the API and the pages ask here (DESIGN.md §7).

An execution the user may not read answers "not found" (404), so ids in other namespaces leak
nothing; one the user may read but not act on answers 403, which tells them why.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from apps.core.errors import NotFound
from apps.executions import services
from apps.executions.models import Execution
from apps.namespaces.permissions import Action, can


def readable(user: Any, execution_id: str) -> Execution:
    row = services.get(execution_id)
    if not can(user, Action.READ, row.namespace):
        raise NotFound(f"Execution '{execution_id}' not found")
    return row


def allowed(user: Any, execution_id: str, action: Action) -> Execution:
    """The execution, if `user` may `action` it (READ to look, EXECUTE to drive, WRITE to delete)."""
    row = readable(user, execution_id)
    if action != Action.READ and not can(user, action, row.namespace):
        raise PermissionDenied(f"you may read executions in {row.namespace!r} but not {action.value} them")
    return row

