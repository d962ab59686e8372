"""Which namespace a storage URI belongs to, and whether a running flow may read it (ADR 0010).

Every file lives under its execution's prefix, `<namespace as path>/<flowId>/executions/<id>/`
(files.py). A flow reads a `kestra:///…` URI — through `read()`, `fileSize()`, a task's file
property or a ForEachItem's items — only when the rule of `apps.namespaces.reach` lets its
namespace READ the file's namespace, or when the file belongs to an execution that started the
reading one (a parent hands its files to the subflows it chose to call).

The owner is found by the execution id in the path, so a namespace segment literally named
`executions` cannot confuse it. A path that names no known execution (a deleted one, a file
put there by other means) belongs to the namespace its folders spell.
"""

from __future__ import annotations

from apps.executions.models import Execution
from apps.namespaces import reach

MAX_LINEAGE = 32
"""How many parents up a file may come from (subflow depth is far smaller)."""


def _split(name: str) -> list[str]:
    return [segment for segment in name.split("/") if segment]


def owner(name: str) -> tuple[str, str] | None:
    """(namespace, execution id) of the execution whose files hold storage name `name`."""
    segments = _split(name)
    candidates = {segments[k + 1]: k for k in range(2, len(segments) - 1) if segments[k] == "executions"}
    if not candidates:
        return None
    rows = Execution.objects.filter(id__in=list(candidates)).values_list("id", "namespace", "flow_id")
    for execution_id, namespace, flow_id in rows:
        k = candidates[execution_id]
        if segments[:k] == [*namespace.split("."), flow_id]:
            return namespace, execution_id
    return None


def directory_namespace(name: str) -> str:
    """The namespace a path names when no execution claims it: its folders, dotted
    (`weir/batches/items.txt` → `weir.batches`). Reaching it means reaching the folder's
    namespace tree, so a path cannot borrow a namespace it does not lie under."""
    return ".".join(_split(name)[:-1])


def lineage(execution_id: str | None) -> set[str]:
    """The execution and the ones that started it as a subflow, up to `MAX_LINEAGE`."""
    found: set[str] = set()
    current = execution_id
    while current and current not in found and len(found) < MAX_LINEAGE:
        found.add(current)
        current = Execution.objects.filter(id=current).values_list("trigger_execution_id", flat=True).first()
    return found


def check(caller: str, execution_id: str | None, name: str, uri: str) -> None:
    """Raise `reach.ReachDenied` unless a flow of `caller` (running `execution_id`) may read
    storage name `name` (given as `uri`)."""
    found = owner(name)
    if found is not None:
        namespace, owner_id = found
        if namespace == caller or owner_id == execution_id:
            return
        decision = reach.reach(caller, namespace, reach.Access.READ)
        if decision.allowed or owner_id in lineage(execution_id):
            return
        raise reach.ReachDenied(decision, f"read the file {uri} of namespace '{namespace}'")
    namespace = directory_namespace(name)
    reach.require(caller, namespace, reach.Access.READ, what=f"read the file {uri} of namespace '{namespace}'")
