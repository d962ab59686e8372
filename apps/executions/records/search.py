"""Execution, log and metric queries for the API and the pages (KESTRA.md §7.2, §7.3).

Every query starts from `visible()` so what a user cannot read never shows up, not even in a
count. Sort fields come from allow-lists and unknown parameters are refused with 400, as in the
flow search (RELIABILITY.md §4 #25): a typo never silently changes what is returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.errors import BadRequest
from apps.core.paging import Page, parse_int

# The API's views page and refuse through this module (`search.paginate(…)`); the kernel owns both.
from apps.core.paging import paginate as paginate
from apps.core.paging import refuse_unknown as refuse_unknown
from apps.engine.states import State
from apps.executions.models import Execution, LogLine, Metric
from apps.flows.search import parse_labels
from apps.flows.services import namespace_filter
from apps.namespaces.permissions import Action, visible

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")

EXECUTION_SORT = {
    "id": "id", "namespace": "namespace", "flowId": "flow_id", "state": "state", "state.current": "state",
    "startDate": "start_date", "state.startDate": "start_date", "endDate": "end_date",
    "state.endDate": "end_date", "created": "created", "updated": "updated",
}
EXECUTION_PARAMS = {"q", "namespace", "flowId", "startDate", "endDate", "timeRange", "state", "labels",
                    "triggerExecutionId", "childFilter", "scope", "page", "size", "sort"}
LOG_SEARCH_PARAMS = {"q", "namespace", "flowId", "minLevel", "startDate", "endDate", "page", "size", "sort"}
LOG_SORT = {"timestamp": "timestamp", "seq": "seq", "level": "level"}
METRIC_SORT = {"name": "name", "timestamp": "timestamp", "value": "value", "taskId": "task_id"}


def parse_sort(value: str | None, fields: Mapping[str, str], default: Sequence[str]) -> list[str]:
    """`field:asc|desc`, comma-separated, from `fields` only; `id` breaks ties so pages are stable."""
    if not value:
        return list(default)
    order = []
    for part in str(value).split(","):
        name, _, direction = part.strip().partition(":")
        if name not in fields:
            raise BadRequest(f"unknown sort field {name!r}; allowed: {', '.join(sorted(fields))}")
        if direction not in {"", "asc", "desc"}:
            raise BadRequest(f"unknown sort direction {direction!r}; use asc or desc")
        order.append(("-" if direction == "desc" else "") + fields[name])
    return [*order, "pk"]


_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(raw: str, name: str = "timeRange") -> timedelta:
    """An ISO-8601 duration as Kestra takes them: `PT1H`, `P1D`, `PT30M`, `P1DT12H`."""
    match = _DURATION.match(raw.strip().upper())
    if not match or raw.strip().upper() in {"P", "PT"} or not any(match.groupdict().values()):
        raise BadRequest(f"{name} must be an ISO-8601 duration such as PT1H or P1D, got {raw!r}")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def parse_date(raw: Any, name: str) -> datetime | None:
    if raw in (None, ""):
        return None
    parsed = parse_datetime(str(raw).replace(" ", "+"))  # a `+` in a query string arrives as a space
    if parsed is None:
        raise BadRequest(f"{name} must be an ISO-8601 date-time, got {raw!r}")
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def parse_states(values: Sequence[str]) -> list[str]:
    states = []
    for raw in values:
        for item in str(raw).split(","):
            try:
                states.append(State(item.strip().upper()).value)
            except ValueError as exc:
                raise BadRequest(f"unknown state {item!r}; allowed: {', '.join(s.value for s in State)}") from exc
    return states


def with_label(qs: QuerySet[Execution], key: str, value: str) -> QuerySet[Execution]:
    """Executions carrying the label `key: value` (labels are a JSON list of `{key, value}`).

    PostgreSQL answers with jsonb containment (GIN-indexable); SQLite, which has no JSON
    `contains` lookup, looks through `json_each`.
    """
    if connection.vendor == "postgresql":
        return qs.filter(labels__contains=[{"key": key, "value": value}])
    table = Execution._meta.db_table
    sql = (f'EXISTS (SELECT 1 FROM json_each("{table}"."labels") AS lb '
           "WHERE json_extract(lb.value, '$.key') = %s AND json_extract(lb.value, '$.value') = %s)")
    return qs.alias(_has_label=RawSQL(sql, (key, value), output_field=BooleanField())).filter(_has_label=True)


def executions(user: Any, params: Mapping[str, Any], *, states: Sequence[str] = (),
               labels: Sequence[str] = (), action: Action = Action.READ) -> QuerySet[Execution]:
    """The executions matching the search parameters (unsorted): namespace prefix, flow, states…"""
    qs = visible(Execution.objects.filter(deleted=False), user, action)
    namespace = str(params.get("namespace") or "").strip()
    if namespace:
        qs = qs.filter(namespace_filter(namespace))
    if params.get("flowId"):
        qs = qs.filter(flow_id=str(params["flowId"]))
    if states:
        qs = qs.filter(state__in=parse_states(states))
    for key, value in parse_labels(labels).items():
        qs = with_label(qs, key, value)
    q = str(params.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(id__icontains=q) | Q(flow_id__icontains=q) | Q(namespace__icontains=q))
    start = parse_date(params.get("startDate"), "startDate")
    if params.get("timeRange"):
        since = timezone.now() - parse_duration(str(params["timeRange"]))
        start = max(start, since) if start else since
    if start:
        qs = qs.filter(created__gte=start)
    end = parse_date(params.get("endDate"), "endDate")
    if end:
        qs = qs.filter(created__lte=end)
    if params.get("triggerExecutionId"):
        qs = qs.filter(trigger_execution_id=str(params["triggerExecutionId"]))
    child = str(params.get("childFilter") or "").upper()
    if child == "CHILD":
        qs = qs.filter(trigger_execution_id__isnull=False)
    elif child == "MAIN":
        qs = qs.filter(trigger_execution_id__isnull=True)
    elif child:
        raise BadRequest(f"childFilter must be CHILD or MAIN, got {params.get('childFilter')!r}")
    return qs


def search_executions(user: Any, params: Mapping[str, Any], states: Sequence[str], labels: Sequence[str],
                      allowed: set[str] = EXECUTION_PARAMS) -> Page[Execution]:
    refuse_unknown(params, allowed)
    order = parse_sort(params.get("sort"), EXECUTION_SORT, ["-created", "-pk"])
    return paginate(executions(user, params, states=states, labels=labels).order_by(*order), params)


# ---------------------------------------------------------------------------------------------
# Logs and metrics


def levels_from(min_level: Any) -> list[str]:
    """The levels at or above `minLevel` (`WARNING` is read as `WARN`)."""
    if min_level in (None, ""):
        return list(LEVELS)
    level = str(min_level).upper()
    level = "WARN" if level == "WARNING" else level
    if level not in LEVELS:
        raise BadRequest(f"minLevel must be one of {', '.join(LEVELS)}, got {min_level!r}")
    return list(LEVELS[LEVELS.index(level):])


def execution_logs(execution_id: str, params: Mapping[str, Any]) -> QuerySet[LogLine]:
    """One execution's lines in `seq` order, filtered; `afterSeq` (exclusive) pages through them."""
    qs = LogLine.objects.filter(execution_id=execution_id)
    if params.get("minLevel"):
        qs = qs.filter(level__in=levels_from(params["minLevel"]))
    if params.get("taskRunId"):
        qs = qs.filter(task_run_id=str(params["taskRunId"]))
    if params.get("taskId"):
        qs = qs.filter(task_id=str(params["taskId"]))
    if params.get("attempt") not in (None, ""):
        qs = qs.filter(attempt=parse_int(params, "attempt", 0, 0, 1_000_000))
    if params.get("afterSeq") not in (None, ""):
        qs = qs.filter(seq__gt=parse_int(params, "afterSeq", 0, 0, 2**62))
    return qs.order_by("seq")


def search_logs(user: Any, params: Mapping[str, Any]) -> Page[LogLine]:
    refuse_unknown(params, LOG_SEARCH_PARAMS)
    runs = executions(user, {k: params[k] for k in ("namespace", "flowId") if params.get(k)})
    qs = LogLine.objects.filter(execution__in=runs.values("id")).select_related("execution")
    if params.get("minLevel"):
        qs = qs.filter(level__in=levels_from(params["minLevel"]))
    if params.get("q"):
        qs = qs.filter(message__icontains=str(params["q"]))
    start, end = parse_date(params.get("startDate"), "startDate"), parse_date(params.get("endDate"), "endDate")
    if start:
        qs = qs.filter(timestamp__gte=start)
    if end:
        qs = qs.filter(timestamp__lte=end)
    return paginate(qs.order_by(*parse_sort(params.get("sort"), LOG_SORT, ["-timestamp", "-pk"])), params)


def execution_metrics(execution_id: str, params: Mapping[str, Any]) -> Page[Metric]:
    refuse_unknown(params, {"taskRunId", "taskId", "page", "size", "sort"})
    qs = Metric.objects.filter(execution_id=execution_id)
    if params.get("taskRunId"):
        qs = qs.filter(task_run_id=str(params["taskRunId"]))
    if params.get("taskId"):
        qs = qs.filter(task_id=str(params["taskId"]))
    return paginate(qs.order_by(*parse_sort(params.get("sort"), METRIC_SORT, ["timestamp", "pk"])), params)
