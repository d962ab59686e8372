"""Execution-level operations the core tasks need (Resume, log Fetch, Count, Purge*), reached
from plugin code through `RunContext.host()` so that plugins never import Django.

Every failure a user can cause (an unknown execution, a wrong state, a bad date) is raised as
`TaskFailed` with a readable message: the plugin lets it through and the task run fails with
that message instead of a stack trace.

Every operation on another namespace passes `apps.namespaces.reach` first (ADR 0010): reading
(log Fetch, Count) needs READ reach; acting (Resume, Purge*) needs ACT reach, which across
namespaces also needs the calling flow's last author to hold the API's role for the action.
Without a `namespace`, a purge covers the flow's own namespace and its children only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.core.errors import Conflict, NotFound, Unprocessable
from apps.engine.states import TERMINATED
from apps.executions.models import Execution, LogLine, Metric
from apps.executions.runtime import ports
from apps.flows import authors
from apps.namespaces import reach
from apps.namespaces.permissions import Action
from apps.plugins.sdk import TaskFailed

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
_ZONE_SUFFIX = re.compile(r"\[[^\]]+\]$")


def parse_date(value: str | datetime | None, name: str) -> datetime | None:
    """A zoned ISO-8601 date-time (`2024-01-31T09:00:00Z`, a `[Europe/Paris]` suffix allowed)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed: datetime | None = value
    else:
        try:
            parsed = datetime.fromisoformat(_ZONE_SUFFIX.sub("", str(value).strip()))
        except ValueError:
            parsed = None
    if parsed is None:
        raise TaskFailed(f"'{name}' is not an ISO-8601 date-time: {value!r}")
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def in_namespace(namespace: str, prefix: bool) -> Q:
    """Executions of `namespace`, and with `prefix` also of its child namespaces (`ns.*`)."""
    exact = Q(namespace=namespace)
    return exact | Q(namespace__startswith=f"{namespace}.") if prefix else exact


class HostOperations:
    """What one running task may do to executions and logs beyond its own task run."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def _reach(self, target: str, access: reach.Access, what: str, role: Action = Action.EXECUTE) -> None:
        """Fail the task unless this flow may `access` namespace `target` (reach.py's rule)."""
        caller, flow_id, revision = self.ctx.namespace, self.ctx.flow_id, self.ctx.data.flow_revision
        try:
            reach.require(caller, target, access, lambda: authors.authors(caller, flow_id, revision), role, what)
        except reach.ReachDenied as error:
            raise TaskFailed(str(error)) from error

    # -- one execution -------------------------------------------------------------------------

    def _execution(self, execution_id: str | None, namespace: str | None, flow_id: str | None,
                   access: reach.Access, what: str, role: Action = Action.EXECUTE) -> Execution:
        """The target execution: the current one by default; `namespace`/`flowId`, when given,
        must match it (a guard against resuming or reading the wrong flow's execution); another
        execution only within this flow's reach."""
        target = execution_id or self.ctx.execution_id
        row = Execution.objects.filter(id=target, deleted=False).first()
        if row is None:
            raise TaskFailed(f"No execution found for execution id '{target}'")
        if (namespace and namespace != row.namespace) or (flow_id and flow_id != row.flow_id):
            raise TaskFailed(f"Execution '{target}' belongs to the flow '{row.namespace}.{row.flow_id}', "
                             f"not to '{namespace or row.namespace}.{flow_id or row.flow_id}'")
        if row.id != self.ctx.execution_id:
            self._reach(row.namespace, access, f"{what} execution '{row.id}' of namespace '{row.namespace}'", role)
        return row

    def resume(self, execution_id: str | None, inputs: Mapping[str, Any] | None = None,
               namespace: str | None = None, flow_id: str | None = None) -> str:
        """Resume a PAUSED execution as `POST /executions/{id}/resume` does; returns its id."""
        row = self._execution(execution_id, namespace, flow_id, reach.Access.ACT, "resume")
        try:
            ports.resume.call(row.id, inputs)
        except (Conflict, NotFound, Unprocessable) as error:
            raise TaskFailed(str(error)) from error
        return row.id

    def fetch_logs(self, execution_id: str | None, task_ids: Iterable[str] | None = None,
                   min_level: str = "INFO", namespace: str | None = None,
                   flow_id: str | None = None) -> list[dict[str, Any]]:
        """The persisted log lines of an execution at `min_level` or above, oldest first."""
        row = self._execution(execution_id, namespace, flow_id, reach.Access.READ, "read the logs of")
        level = min_level.upper() if min_level.upper() in LEVELS else "INFO"
        lines = LogLine.objects.filter(execution_id=row.id, level__in=LEVELS[LEVELS.index(level):])
        if task_ids is not None:
            lines = lines.filter(task_id__in=list(task_ids))
        return [ports.log_json.call(line, row) for line in lines.order_by("seq")]

    def execution_summary(self, execution_id: str | None) -> dict[str, Any]:
        """What an execution notification shows: identity, state, dates and its task runs (in order).

        For the current execution the state is FAILED as soon as one of its task runs failed (the
        notification usually runs in the `errors` branch, before the execution itself ends)."""
        row = self._execution(execution_id, None, None, reach.Access.READ, "read")
        runs = list(row.task_runs.order_by("seq").values("task_id", "state", "start_date", "end_date"))
        state = row.state
        if row.id == self.ctx.execution_id and any(r["state"] == "FAILED" for r in runs):
            state = "FAILED"
        return {"id": row.id, "namespace": row.namespace, "flowId": row.flow_id, "state": state,
                "startDate": row.start_date, "endDate": row.end_date, "labels": row.labels,
                "taskRuns": [{"taskId": r["task_id"], "state": r["state"], "startDate": r["start_date"],
                              "endDate": r["end_date"]} for r in runs]}

    def toggle_trigger(self, namespace: str | None, flow_id: str | None, trigger_id: str, enabled: bool) -> None:
        """`trigger.Toggle`: turn a trigger of this flow (or, within reach, another) on or off."""
        target_ns, target_flow = namespace or self.ctx.namespace, flow_id or self.ctx.flow_id
        if (target_ns, target_flow) != (self.ctx.namespace, self.ctx.flow_id):
            self._reach(target_ns, reach.Access.ACT, f"toggle trigger '{trigger_id}' of flow '{target_ns}.{target_flow}'",
                        Action.WRITE)
        if not ports.toggle_trigger.call(target_ns, target_flow, trigger_id, not enabled):
            raise TaskFailed(f"Trigger '{trigger_id}' of flow '{target_ns}.{target_flow}' not found")

    # -- many executions -----------------------------------------------------------------------

    def count_executions(self, flows: Iterable[tuple[str, str]] | None, namespaces: Iterable[str] | None,
                         states: Iterable[str] | None, start_date: str | datetime | None,
                         end_date: str | datetime | None) -> list[dict[str, Any]]:
        """Executions created between the dates, per flow, as `{namespace, flowId, count}`.

        As in Kestra, every requested flow gets a row (count 0 when it did not run) and every
        requested namespace without any execution gets one row with a null `flowId`.
        """
        start = parse_date(start_date, "startDate")
        end = parse_date(end_date, "endDate") or timezone.now()
        flow_list = [(str(ns), str(fid)) for ns, fid in flows or []]
        ns_list = [str(ns) for ns in namespaces or []]
        for ns in sorted({ns for ns, _ in flow_list} | set(ns_list)):
            self._reach(ns, reach.Access.READ, f"count the executions of '{ns}'")
        rows = Execution.objects.filter(deleted=False, created__lte=end)
        if start is not None:
            rows = rows.filter(created__gte=start)
        if states is not None:
            rows = rows.filter(state__in=list(states))
        scope = Q(pk__in=[])
        for ns, fid in flow_list:
            scope |= Q(namespace=ns, flow_id=fid)
        for ns in ns_list:
            scope |= in_namespace(ns, prefix=True)
        counted = {(r["namespace"], r["flow_id"]): int(r["n"]) for r in
                   rows.filter(scope).values("namespace", "flow_id").annotate(n=Count("id"))}
        result = [{"namespace": ns, "flowId": fid, "count": n} for (ns, fid), n in sorted(counted.items())]
        for ns, fid in flow_list:
            if (ns, fid) not in counted:
                result.append({"namespace": ns, "flowId": fid, "count": 0})
        for ns in ns_list:
            if not any(r["namespace"] == ns or r["namespace"].startswith(f"{ns}.") for r in result):
                result.append({"namespace": ns, "flowId": None, "count": 0})
        return result

    def purge_executions(self, *, namespace: str | None, flow_id: str | None, states: Iterable[str] | None,
                         start_date: str | datetime | None, end_date: str | datetime,
                         purge_execution: bool = True, purge_log: bool = True, purge_metric: bool = True,
                         purge_storage: bool = True) -> dict[str, int]:
        """Delete what the flags select of the terminated executions that ended before `end_date`.

        An execution whose logs or metrics are kept is only marked deleted (its rows cascade
        otherwise), so the kept lines stay readable, as Kestra keeps them.
        """
        end = parse_date(end_date, "endDate")
        start = parse_date(start_date, "startDate")
        assert end is not None
        namespace = self._purge_scope(namespace, "purge the executions of")
        rows = self._purgeable(namespace, flow_id, states, start, end)
        counts = {"executionsCount": 0, "logsCount": 0, "metricsCount": 0, "storagesCount": 0}
        for row in rows:
            with transaction.atomic():
                if purge_log:
                    counts["logsCount"] += LogLine.objects.filter(execution_id=row.id).delete()[0]
                if purge_metric:
                    counts["metricsCount"] += Metric.objects.filter(execution_id=row.id).delete()[0]
                if purge_storage:
                    counts["storagesCount"] += delete_tree(execution_storage_prefix(row))
                if purge_execution:
                    if purge_log and purge_metric:
                        row.delete()
                    else:
                        Execution.objects.filter(id=row.id).update(deleted=True)
                    counts["executionsCount"] += 1
        return counts

    def _purge_scope(self, namespace: str | None, what: str) -> str:
        """The namespace a purge covers: the given one if this flow may act on it (WRITE, as
        the API's delete), else the flow's own (never every tenant's)."""
        target = namespace or self.ctx.namespace
        self._reach(target, reach.Access.ACT, f"{what} '{target}'", Action.WRITE)
        return str(target)

    def _purgeable(self, namespace: str, flow_id: str | None, states: Iterable[str] | None,
                   start: datetime | None, end: datetime) -> list[Execution]:
        rows = Execution.objects.filter(deleted=False, end_date__isnull=False, created__lte=end,
                                        state__in=[s.value for s in TERMINATED]).exclude(id=self.ctx.execution_id)
        rows = rows.filter(in_namespace(namespace, prefix=not flow_id))
        if flow_id:
            rows = rows.filter(flow_id=flow_id)
        if start is not None:
            rows = rows.filter(created__gte=start)
        if states is not None:
            rows = rows.filter(state__in=list(states))
        return [row for row in rows.order_by("created") if _ended_before(row, end)]

    def purge_logs(self, *, namespace: str | None, flow_id: str | None, levels: Iterable[str] | None,
                   start_date: str | datetime | None, end_date: str | datetime) -> int:
        """Delete the log lines written between the dates, of a namespace (tree) or a flow."""
        end = parse_date(end_date, "endDate")
        start = parse_date(start_date, "startDate")
        namespace = self._purge_scope(namespace, "purge the logs of")
        lines: QuerySet[LogLine] = LogLine.objects.filter(timestamp__lte=end)
        if start is not None:
            lines = lines.filter(timestamp__gte=start)
        scope = Q(execution__namespace=namespace)
        if not flow_id:
            scope |= Q(execution__namespace__startswith=f"{namespace}.")
        lines = lines.filter(scope)
        if flow_id:
            lines = lines.filter(execution__flow_id=flow_id)
        if levels is not None:
            lines = lines.filter(level__in=[str(level) for level in levels])
        deleted: int = lines.delete()[0]
        return deleted


def _ended_before(row: Execution, end: datetime) -> bool:
    ended = parse_date(row.end_date, "endDate") if row.end_date else None
    return ended is not None and ended <= end


def execution_storage_prefix(row: Execution) -> str:
    """Where an execution's files live in the storage (inputs, task outputs)."""
    return f"{row.namespace.replace('.', '/')}/{row.flow_id}/executions/{row.id}"


def delete_tree(prefix: str) -> int:
    """Delete every file under `prefix` in the default storage; returns how many."""
    storage = storages["default"]
    try:
        folders, files = storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    count = 0
    for name in files:
        storage.delete(f"{prefix}/{name}")
        count += 1
    for folder in folders:
        count += delete_tree(f"{prefix}/{folder}")
    return count
