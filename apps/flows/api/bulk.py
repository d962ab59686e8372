"""Bulk flow operations by ids or by query (KESTRA.md §7.1): enable, disable, delete.

Kestra keeps `disabled` in the flow's source and answers `{"count": n}`. Weir does the same: a
flow is verbatim YAML (docs/adr/0001), so enabling or disabling one writes a new revision whose
source carries the top-level `disabled:` line (replaced when present, appended otherwise), through
the same `services.update_flow` an edit uses (validation, permissions, audit). A flow already in
the wanted state is left alone and not counted. By ids, every flow is checked before any is
changed: one the caller may not write leaves all of them as they were (403, or 404 when it cannot
even be read). By query, only the flows the caller may write are selected.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.flows import search, services
from apps.flows.models import Flow
from apps.namespaces.permissions import Action, require, visible

_DISABLED_LINE = re.compile(r"^disabled[ \t]*:[^\n]*$", re.MULTILINE)
QUERY_PARAMS = {"q", "namespace", "labels"}
IDS_BODY = {"application/json": {"type": "array", "items": {"type": "object", "properties": {
    "namespace": {"type": "string"}, "id": {"type": "string"}}}}}
COUNT = {200: OpenApiTypes.OBJECT}
QUERY_DOC = [OpenApiParameter("q", str), OpenApiParameter("namespace", str),
             OpenApiParameter("labels", str, many=True, description="key:value, repeatable")]


def with_disabled(source: str, disabled: bool) -> str:
    """`source` with its top-level `disabled:` set to `disabled` (every other byte kept)."""
    line = f"disabled: {'true' if disabled else 'false'}"
    if _DISABLED_LINE.search(source):
        return _DISABLED_LINE.sub(line, source)
    return source + ("" if source.endswith("\n") else "\n") + line + "\n"


def ids(data: Any) -> list[tuple[str, str]]:
    """`[{"namespace": …, "id": …}, …]` as (namespace, flow id) pairs."""
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise BadRequest('send a JSON list of {"namespace": …, "id": …} objects')
    out = []
    for item in data:
        ns, fid = item.get("namespace"), item.get("id")
        if not isinstance(ns, str) or not isinstance(fid, str):
            raise BadRequest(f"each entry needs string 'namespace' and 'id', got {item!r}")
        out.append((ns, fid))
    return out


def by_query(request: Request, action: Action = Action.READ) -> QuerySet[Flow]:
    """The flows a `q`/`namespace`/`labels` query (or its QueryFilter form) selects among those
    the caller may `action`; a namespace named in the query must allow `action` (404/403)."""
    unknown = set(request.query_params) - QUERY_PARAMS
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(sorted(QUERY_PARAMS))}")
    if action is not Action.READ:
        if request.query_params.get("namespace"):
            require(request.user, action, request.query_params["namespace"])
        return visible(by_query(request), request.user, action)
    return search.filtered(request.user, q=request.query_params.get("q", ""),
                           namespace=request.query_params.get("namespace", ""),
                           labels=search.parse_labels(request.query_params.getlist("labels")))


def set_disabled(user: Any, flows: list[Flow], disabled: bool) -> int:
    """Write `disabled` into each flow's source; how many changed."""
    for flow in flows:
        require(user, Action.WRITE, flow.namespace)
    changed = 0
    with transaction.atomic():
        for flow in flows:
            if flow.disabled == disabled:
                continue
            outcome = services.update_flow(user, flow.namespace, flow.flow_id,
                                           with_disabled(flow.source, disabled), flow.revision)
            changed += int(outcome.changed)
    return changed


def delete(user: Any, flows: list[Flow]) -> int:
    for flow in flows:
        require(user, Action.WRITE, flow.namespace)
    with transaction.atomic():
        for flow in flows:
            services.delete_flow(user, flow.namespace, flow.flow_id)
    return len(flows)


def listed(user: Any, pairs: list[tuple[str, str]]) -> list[Flow]:
    return [services.get_flow(user, ns, fid) for ns, fid in pairs]


class _ByIds(APIView):
    parser_classes = [JSONParser]
    disabled = False

    def post(self, request: Request) -> Response:
        flows = listed(request.user, ids(request.data))
        return Response({"count": set_disabled(request.user, flows, self.disabled)})


class _ByQuery(APIView):
    disabled = False

    def post(self, request: Request) -> Response:
        return Response({"count": set_disabled(request.user, list(by_query(request, Action.WRITE)), self.disabled)})


def _doc(summary: str, by_query: bool) -> Any:
    if by_query:
        return extend_schema_view(post=extend_schema(request=None, parameters=QUERY_DOC, responses=COUNT,
                                                     tags=["flows"], summary=summary))
    return extend_schema_view(post=extend_schema(request=IDS_BODY, responses=COUNT, tags=["flows"], summary=summary))


@_doc("Enable flows by id (a new revision with `disabled: false`)", by_query=False)
class EnableByIds(_ByIds):
    pass


@_doc("Disable flows by id (a new revision with `disabled: true`)", by_query=False)
class DisableByIds(_ByIds):
    disabled = True


@_doc("Enable the flows a query selects", by_query=True)
class EnableByQuery(_ByQuery):
    pass


@_doc("Disable the flows a query selects", by_query=True)
class DisableByQuery(_ByQuery):
    disabled = True


class DeleteByQuery(APIView):
    @extend_schema(parameters=QUERY_DOC, responses=COUNT, tags=["flows"],
                   summary="Delete the flows a query selects (soft)")
    def delete(self, request: Request) -> Response:
        return Response({"count": delete(request.user, list(by_query(request, Action.WRITE)))})
