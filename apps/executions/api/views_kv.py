"""The namespace KV store over HTTP (KESTRA.md §7.4), as Kestra's API and SDKs use it.

- `GET /kv?namespace=&q=&page&size&sort` — keys of every namespace the caller may read (Kestra
  1.x's `list_all_keys`; QueryFilter `filters[namespace][EQUALS]` arrives as `namespace`).
- `GET /namespaces/{ns}/kv` — one namespace's keys; `GET …/kv/inheritance` — its parents' keys.
- `GET|PUT|DELETE /namespaces/{ns}/kv/{key}` — `{type, value}`; put a body typed as Kestra's
  ION reader types it (apps/executions/kvstore.read_typed), with an optional `ttl` header (or
  query parameter) holding an ISO-8601 duration; delete answers whether the key existed.
- `DELETE /namespaces/{ns}/kv` with `{"keys": [...]}` — bulk delete, answers the deleted keys.

READ on the namespace to look, WRITE to change; a namespace the caller cannot read is 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest, NotFound
from apps.core.paging import parse_int
from apps.engine.inputs import instant_string as at
from apps.executions.models import KVEntry
from apps.executions.records import kvstore, search
from apps.flows.services import namespace_filter
from apps.namespaces.permissions import Action, ancestors, can, require, visible
from apps.plugins.sdk import parse_duration

TAG = ["kv"]
MAX_VALUE_BYTES = 1024 * 1024
KV_SORT = {"key": "key", "namespace": "namespace", "updateDate": "updated", "expirationDate": "expires_at"}


def entry_json(row: KVEntry) -> dict[str, Any]:
    return {"namespace": row.namespace, "key": row.key, "description": None,
            "updateDate": at(row.updated), "expirationDate": at(row.expires_at)}


def _key(key: str) -> str:
    try:
        kvstore.check_key(key)
    except ValueError as error:
        raise BadRequest(str(error)) from error
    return key


def _ttl(request: Request) -> float | None:
    raw = request.headers.get("ttl") or request.query_params.get("ttl")
    if not raw:
        return None
    try:
        seconds = parse_duration(str(raw))
    except ValueError as error:
        raise BadRequest(f"ttl: {error}") from error
    if seconds <= 0:
        raise BadRequest(f"ttl must be a positive duration, got {raw!r}")
    return seconds


class AllKeys(APIView):
    @extend_schema(parameters=[OpenApiParameter("namespace", str, description="children included"),
                               OpenApiParameter("q", str, description="part of the key"),
                               OpenApiParameter("page", int), OpenApiParameter("size", int),
                               OpenApiParameter("sort", str)],
                   responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="KV keys of every readable namespace")
    def get(self, request: Request) -> Response:
        params = request.query_params
        search.refuse_unknown(params, {"namespace", "q", "page", "size", "sort"})
        rows = visible(kvstore.live_entries(), request.user, Action.READ)
        if params.get("namespace"):
            rows = rows.filter(namespace_filter(str(params["namespace"])))
        if params.get("q"):
            rows = rows.filter(key__icontains=str(params["q"]))
        order = search.parse_sort(params.get("sort"), KV_SORT, ["namespace", "key"])
        page = search.paginate(rows.order_by(*order), params)
        return Response({"results": [entry_json(r) for r in page.results], "total": page.total})


class NamespaceKeys(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="A namespace's KV keys",
                   operation_id="kv_list")
    def get(self, request: Request, namespace: str) -> Response:
        require(request.user, Action.READ, namespace)
        rows = kvstore.live_entries().filter(namespace=namespace).order_by("key")
        return Response([entry_json(r) for r in rows[:parse_int(request.query_params, "size", 1000, 1, 10_000)]])

    @extend_schema(request={"application/json": {"type": "object", "properties": {"keys": {"type": "array"}}}},
                   responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="Delete several keys",
                   operation_id="kv_delete_many")
    def delete(self, request: Request, namespace: str) -> Response:
        require(request.user, Action.WRITE, namespace)
        keys = request.data.get("keys") if isinstance(request.data, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise BadRequest('send {"keys": ["key", …]}')
        return Response({"keys": kvstore.delete_many(namespace, keys)})


class InheritedKeys(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="KV keys of the namespace's parents the caller may read")
    def get(self, request: Request, namespace: str) -> Response:
        require(request.user, Action.READ, namespace)
        parents = [p for p in ancestors(namespace) if can(request.user, Action.READ, p)]
        rows = kvstore.live_entries().filter(namespace__in=parents).order_by("namespace", "key")
        return Response([entry_json(r) for r in rows])


class KeyValue(APIView):
    parser_classes: list[Any] = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="A key's {type, value}",
                   operation_id="kv_get")
    def get(self, request: Request, namespace: str, key: str) -> Response:
        require(request.user, Action.READ, namespace)
        try:
            row = kvstore.detail(namespace, _key(key))
        except kvstore.Expired as error:
            return Response({"message": str(error)}, status=410)
        if row is None:
            raise NotFound(f"No value found for key '{key}' in namespace '{namespace}'")
        return Response({"type": row.kind, "value": row.value,
                         "updated": at(row.updated)})

    @extend_schema(request={"text/plain": {"type": "string"}},
                   parameters=[OpenApiParameter("ttl", str, location=OpenApiParameter.HEADER,
                                                description="ISO-8601 duration, e.g. PT1H")],
                   responses={204: None}, tags=TAG, summary="Set a key (JSON or text body)")
    def put(self, request: Request, namespace: str, key: str) -> Response:
        require(request.user, Action.WRITE, namespace)
        _key(key)
        body = request.body
        if len(body) > MAX_VALUE_BYTES:
            raise BadRequest(f"the value is over the limit of {MAX_VALUE_BYTES} bytes")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadRequest(f"the value is not UTF-8 text: {error}") from error
        value, kind = kvstore.read_typed(text)
        kvstore.put(namespace, key, value, kind=kind, ttl=_ttl(request))
        return Response(status=204)

    @extend_schema(responses={200: OpenApiTypes.BOOL}, tags=TAG, summary="Delete a key; true if it existed",
                   operation_id="kv_delete")
    def delete(self, request: Request, namespace: str, key: str) -> Response:
        require(request.user, Action.WRITE, namespace)
        return Response(kvstore.delete(namespace, _key(key)))
