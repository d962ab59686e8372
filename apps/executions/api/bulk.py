"""Execution actions on many executions at once, by ids or by query (KESTRA.md §7.2):
`DELETE /executions/by-ids|by-query`, `DELETE /executions/kill/by-…`, and `POST
/executions/{restart|replay|resume|pause|change-status|labels|unqueue|force-run}/by-…`.

Each applies the one-execution service of that action, and answers Kestra's `{"count": n}`.
As in Kestra:
- **by ids**, every id is checked before anything is done: an id the caller cannot read is 404,
  one they may read but not act on 403, and executions in a state the action does not apply to
  (a kill of an ended execution, a resume of one not PAUSED) are named together in one 409;
  then the action is applied to each.
- **by query** (the search parameters of `/executions/search`, or their `filters[…]` form), the
  action is applied to the executions the caller may act on whose state it applies to; a
  namespace named in the query must allow the action (404/403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest, Conflict
from apps.engine.states import TERMINATED, State
from apps.executions import files, queuectl, services
from apps.executions.access import allowed
from apps.executions.models import Execution
from apps.executions.records import search
from apps.flows.models import Flow
from apps.namespaces.permissions import Action, require


def _in(*states: State) -> Callable[[Execution], bool]:
    return lambda row: State(row.state) in states


def _ended(row: Execution) -> bool:
    return State(row.state) in TERMINATED


def _labels(request: Request) -> list[dict[str, Any]]:
    data: Any = request.data
    if isinstance(data, dict):  # by ids: {"executionsId": […], "executionLabels": […]}
        data = data.get("executionLabels")
    if not isinstance(data, list) or not all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in data):
        raise BadRequest('send the labels as a JSON list of {"key": …, "value": …} objects')
    return data


def _status(request: Request) -> str:
    status = request.query_params.get("newStatus") or request.query_params.get("status")
    if not status:
        raise BadRequest("newStatus is required, e.g. ?newStatus=SUCCESS")
    return status.upper()


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = str(request.query_params.get(name) or "").lower()
    if raw in ("", "true", "false"):
        return default if not raw else raw == "true"
    raise BadRequest(f"{name} must be true or false, got {raw!r}")


def _deletable(request: Request) -> None:
    if not (_flag(request, "deleteLogs", True) and _flag(request, "deleteMetrics", True)):
        raise BadRequest("an execution's logs and metrics are always deleted with it")
    if _flag(request, "includeNonTerminated", False):
        raise BadRequest("only terminated executions are deleted: kill the others first")


def _delete(request: Request, row: Execution) -> None:
    services.delete(row.id)
    if _flag(request, "deleteStorage", True):  # the files go once the rows are gone for good
        transaction.on_commit(lambda: files.delete_all(row))


def _replay(request: Request, row: Execution) -> object:
    latest = None
    if _flag(request, "latestRevision", False):
        latest = Flow.objects.filter(namespace=row.namespace, flow_id=row.flow_id).values_list(
            "revision", flat=True).first()
    return services.replay(row.id, revision=latest)


@dataclass(frozen=True)
class Bulk:
    need: Action
    applies: Callable[[Execution], bool]
    refusal: str
    """Why an execution the action does not apply to is refused (by ids)."""
    apply: Callable[[Request, Execution], object]
    check: Callable[[Request], object] = lambda request: None
    """Refuses bad parameters before any execution is touched."""


ACTIONS: dict[str, Bulk] = {
    "delete": Bulk(Action.WRITE, _ended, "execution is not terminated", _delete, _deletable),
    "kill": Bulk(Action.EXECUTE, lambda row: not _ended(row), "execution already finished",
                 lambda request, row: services.kill(row.id, cascade=_flag(request, "isOnKillCascade", True))),
    "restart": Bulk(Action.EXECUTE, _in(State.FAILED), "execution is not in state FAILED",
                    lambda request, row: services.restart(row.id)),
    "replay": Bulk(Action.EXECUTE, lambda row: True, "", _replay),
    "resume": Bulk(Action.EXECUTE, _in(State.PAUSED), "execution is not in state PAUSED",
                   lambda request, row: services.resume(row.id, {})),
    "pause": Bulk(Action.EXECUTE, _in(State.RUNNING), "execution is not in state RUNNING",
                  lambda request, row: services.pause(row.id)),
    "change-status": Bulk(Action.EXECUTE, _ended, "execution is not terminated",
                          lambda request, row: services.change_status(row.id, _status(request)), _status),
    "labels": Bulk(Action.EXECUTE, _ended, "execution is not terminated",
                   lambda request, row: services.set_labels(row.id, _labels(request)), _labels),
    "unqueue": Bulk(Action.EXECUTE, _in(State.QUEUED), "execution is not in state QUEUED",
                    lambda request, row: queuectl.unqueue(row.id, request.query_params.get("state") or "RUNNING")),
    "force-run": Bulk(Action.EXECUTE, _in(State.CREATED, State.QUEUED, State.PAUSED),
                      "execution is not CREATED, QUEUED or PAUSED", lambda request, row: queuectl.force_run(row.id)),
}
METHODS = {"delete": "DELETE", "kill": "DELETE"}
"""The HTTP method of each bulk route (POST for the others)."""
QUERY_EXTRA = {"newStatus", "status", "state", "isOnKillCascade", "latestRevision", "includeNonTerminated",
               "deleteLogs", "deleteMetrics", "deleteStorage"}
"""Parameters of the actions themselves, beside the search's."""


def _ids(request: Request) -> list[str]:
    data: Any = request.data
    if isinstance(data, dict):
        data = data.get("executionsId")
    if not isinstance(data, list) or not data or not all(isinstance(i, str) for i in data):
        raise BadRequest("send a JSON list of execution ids")
    return list(dict.fromkeys(data))


def by_ids(request: Request, word: str) -> int:
    bulk = ACTIONS[word]
    rows = [allowed(request.user, execution_id, bulk.need) for execution_id in _ids(request)]
    bulk.check(request)
    refused = [row.id for row in rows if not bulk.applies(row)]
    if refused:
        raise Conflict(f"invalid bulk {word}: {bulk.refusal}: {', '.join(refused)}")
    for row in rows:
        bulk.apply(request, row)
    return len(rows)


def by_query(request: Request, word: str) -> int:
    bulk = ACTIONS[word]
    params = request.query_params
    search.refuse_unknown(params, (search.EXECUTION_PARAMS - {"page", "size", "sort"}) | QUERY_EXTRA)
    if params.get("namespace"):
        require(request.user, bulk.need, str(params["namespace"]))
    bulk.check(request)
    rows = search.executions(request.user, params, states=params.getlist("state") if word != "unqueue" else (),
                             labels=params.getlist("labels"), action=bulk.need).order_by("created")
    chosen = [row for row in rows if bulk.applies(row)]
    for row in chosen:
        bulk.apply(request, row)
    return len(chosen)


class BulkExecutions(APIView):
    """`…/executions/{word}/by-ids` and `…/by-query`; `word` and `by` come from the route."""

    parser_classes = [JSONParser]
    word = "kill"
    by = "ids"

    def _count(self, request: Request) -> Response:
        count = by_ids(request, self.word) if self.by == "ids" else by_query(request, self.word)
        return Response({"count": count})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT}, tags=["executions"])
    def post(self, request: Request) -> Response:
        return self._count(request)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT}, tags=["executions"])
    def delete(self, request: Request) -> Response:
        return self._count(request)


def views() -> list[tuple[str, Any]]:
    """(path under api/v1/, view) for every bulk route, each answering only its own method."""
    out = []
    for word in ACTIONS:
        method = METHODS.get(word, "POST")
        for by in ("ids", "query"):
            prefix = "executions" if word == "delete" else f"executions/{word}"
            name = f"Bulk{word.title().replace('-', '')}By{by.title()}"
            cls: Any = type(name, (BulkExecutions,), {
                "word": word, "by": by, "http_method_names": [method.lower(), "options"],
                "__doc__": f"{method} /executions{'' if word == 'delete' else '/' + word}/by-{by}"})
            cls = extend_schema_view(**{method.lower(): extend_schema(
                summary=f"{word} executions by {by}",
                operation_id=f"executions_bulk_{word.replace('-', '_')}_by_{by}")})(cls)
            out.append((f"{prefix}/by-{by}", cls.as_view()))
    return out
