"""/api/v1/triggers… (KESTRA.md §7.6): thin views over apps/triggers/services.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import queryfilter
from apps.core.errors import BadRequest
from apps.core.paging import paginate, refuse_unknown
from apps.namespaces.permissions import Action, require, visible
from apps.triggers import services

TAG = ["triggers"]
OBJECT = {200: OpenApiTypes.OBJECT}


def _key(body: Any) -> tuple[str, str, str]:
    """(namespace, flowId, triggerId) of a request body naming one trigger."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object with namespace, flowId and triggerId")
    missing = [k for k in ("namespace", "flowId", "triggerId") if not isinstance(body.get(k), str) or not body.get(k)]
    if missing:
        raise BadRequest(f"the body needs {', '.join(missing)}")
    return str(body["namespace"]), str(body["flowId"]), str(body["triggerId"])


def _keys(body: Any) -> list[tuple[str, str, str]]:
    if not isinstance(body, list):
        raise BadRequest("the body must be a JSON list of {namespace, flowId, triggerId}")
    return [_key(item) for item in body]


def _disabled(request: Request) -> bool:
    raw = str(request.query_params.get("disabled", "")).lower()
    if raw not in ("true", "false"):
        raise BadRequest("query parameter `disabled` must be true or false")
    return raw == "true"


class TriggerSearch(APIView):
    @extend_schema(parameters=[OpenApiParameter(n, str) for n in ("q", "namespace", "flowId")] + [
        OpenApiParameter("page", int), OpenApiParameter("size", int)], responses=OBJECT, tags=TAG,
        summary="Search triggers (definitions and runtime state)")
    def get(self, request: Request) -> Response:
        params = request.query_params
        refuse_unknown(params, {"q", "namespace", "flowId", "page", "size", "sort"})
        page = paginate(services.states(request.user, namespace=params.get("namespace"),
                                        flow_id=params.get("flowId"), q=params.get("q")), params)
        return Response({"results": [services.item_json(r) for r in page.results], "total": page.total})


class FlowTriggers(APIView):
    @extend_schema(responses=OBJECT, tags=TAG, summary="Triggers of one flow")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        require(request.user, Action.READ, namespace, f"Flow '{namespace}.{flow_id}'")
        rows = services.states(request.user, namespace=namespace, flow_id=flow_id).filter(namespace=namespace)
        return Response({"results": [services.item_json(r) for r in rows], "total": len(rows)})


class UpdateTrigger(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="Enable or disable a trigger, and/or start a backfill")
    def put(self, request: Request) -> Response:
        namespace, flow_id, trigger_id = _key(request.data)
        body = request.data
        row = None
        if "disabled" in body:
            if not isinstance(body["disabled"], bool):
                raise BadRequest("`disabled` must be true or false")
            row = services.set_disabled(request.user, namespace, flow_id, trigger_id, body["disabled"])
        if body.get("backfill") is not None:
            if not isinstance(body["backfill"], Mapping):
                raise BadRequest("`backfill` must be an object {start, end, inputs, labels}")
            row = services.start_backfill(request.user, namespace, flow_id, trigger_id, body["backfill"])
        if row is None:
            raise BadRequest("nothing to change: give `disabled` and/or `backfill`")
        return Response(services.state_json(row))


class Unlock(APIView):
    @extend_schema(request=None, responses=OBJECT, tags=TAG, summary="Clear a trigger's evaluation lock")
    def post(self, request: Request, namespace: str, flow_id: str, trigger_id: str) -> Response:
        return Response(services.state_json(services.unlock(request.user, namespace, flow_id, trigger_id)))


class BackfillPause(APIView):
    paused = True

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG, summary="Pause or unpause a backfill")
    def put(self, request: Request) -> Response:
        row = services.pause_backfill(request.user, *_key(request.data), self.paused)
        return Response(services.state_json(row))


class BackfillUnpause(BackfillPause):
    paused = False


class BackfillDelete(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG, summary="Cancel a backfill")
    def post(self, request: Request) -> Response:
        return Response(services.state_json(services.delete_backfill(request.user, *_key(request.data))))


class SetDisabled(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="Enable or disable one trigger: {namespace, flowId, triggerId, disabled}")
    def put(self, request: Request) -> Response:
        key = _key(request.data)
        if not isinstance(request.data.get("disabled"), bool):
            raise BadRequest("`disabled` must be true or false")
        return Response(services.state_json(services.set_disabled(request.user, *key, request.data["disabled"])))


class SetDisabledByTriggers(APIView):
    @extend_schema(parameters=[OpenApiParameter("disabled", bool)], request=OpenApiTypes.OBJECT,
                   responses=OBJECT, tags=TAG,
                   summary="Enable or disable listed triggers: {triggers: [...], disabled} (Kestra 1.x) or a "
                           "list with ?disabled= (Kestra 0.x)")
    def post(self, request: Request) -> Response:
        body = request.data
        if isinstance(body, Mapping):
            if not isinstance(body.get("disabled"), bool):
                raise BadRequest("`disabled` must be true or false")
            keys, disabled = _keys(body.get("triggers")), bool(body["disabled"])
        else:
            keys, disabled = _keys(body), _disabled(request)
        return Response({"count": services.set_disabled_many(request.user, keys, disabled)})


QUERY = [OpenApiParameter("namespace", str, required=True)] + [OpenApiParameter(n, str) for n in ("q", "flowId")]


def _query_keys(request: Request, *extra: str, params: Mapping[str, Any] | None = None) -> list[services.Key]:
    """The triggers a by-query call acts on: those of a namespace (and its children) the caller
    may change, narrowed by `flowId` and `q` (or the same as `filters[…]`)."""
    params = request.query_params if params is None else params
    refuse_unknown(params, {"q", "namespace", "flowId", *extra})
    if not params.get("namespace"):
        raise BadRequest("query parameter `namespace` is required (or filters[namespace][EQUALS])")
    require(request.user, Action.WRITE, params["namespace"])
    rows = visible(services.states(request.user, namespace=params["namespace"], flow_id=params.get("flowId"),
                                   q=params.get("q")), request.user, Action.WRITE)
    return list(rows.values_list("namespace", "flow_id", "trigger_id"))


class SetDisabledByQuery(APIView):
    @extend_schema(parameters=[OpenApiParameter("disabled", bool, required=True), *QUERY], request=None,
                   responses=OBJECT, tags=TAG,
                   summary="Enable or disable the triggers a query finds in a namespace (and its children)")
    def post(self, request: Request) -> Response:
        keys = _query_keys(request, "disabled")
        return Response({"count": services.set_disabled_many(request.user, keys, _disabled(request))})


class _Bulk(APIView):
    """One bulk operation (services.BULK) on listed triggers or on those a query finds; `{count}`."""

    operation = ""

    def _listed(self, request: Request) -> Response:
        return Response({"count": services.apply_many(request.user, self.operation, _keys(request.data))})

    def _found(self, request: Request, params: Mapping[str, Any] | None = None) -> Response:
        keys = _query_keys(request, params=params)
        return Response({"count": services.apply_many(request.user, self.operation, keys)})


class ByTriggers(_Bulk):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="A bulk trigger operation on a list of {namespace, flowId, triggerId}")
    def post(self, request: Request) -> Response:
        return self._listed(request)


class ByQuery(_Bulk):
    @extend_schema(parameters=QUERY, request=None, responses=OBJECT, tags=TAG,
                   summary="A bulk trigger operation on the triggers a query finds")
    def post(self, request: Request) -> Response:
        return self._found(request)


class DeleteByTriggers(_Bulk):
    operation = "reset"

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="Reset the runtime state of listed triggers")
    def delete(self, request: Request) -> Response:
        return self._listed(request)


class DeleteByQuery(_Bulk):
    operation = "reset"

    @extend_schema(parameters=QUERY, request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="Reset the runtime state of the triggers a query finds (filters in the query "
                           "or, as kestrapy sends them, in a body {filters: [{field, operation, value}]})")
    def delete(self, request: Request) -> Response:
        body = request.data
        if isinstance(body, Mapping) and body.get("filters") is not None:
            if any(k.startswith("filters") or k in ("namespace", "flowId", "q") for k in request.query_params):
                raise BadRequest("give the filters either in the query or in the body, not both")
            return self._found(request, dict(queryfilter.from_body(body["filters"])))
        return self._found(request)


class TriggerDetail(APIView):
    @extend_schema(request=None, responses={204: None}, tags=TAG,
                   summary="Delete a trigger's runtime state (it starts over from its next slot)")
    def delete(self, request: Request, namespace: str, flow_id: str, trigger_id: str) -> Response:
        services.reset(request.user, namespace, flow_id, trigger_id)
        return Response(status=204)


class Restart(APIView):
    @extend_schema(request=None, responses=OBJECT, tags=TAG, summary="Restart a trigger (clear its lock and error)")
    def post(self, request: Request, namespace: str, flow_id: str, trigger_id: str) -> Response:
        return Response(services.state_json(services.restart(request.user, namespace, flow_id, trigger_id)))


class BackfillCreate(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="Start a backfill: {namespace, flowId, triggerId, backfill: {start, end, inputs, labels}}")
    def put(self, request: Request) -> Response:
        key = _key(request.data)
        if not isinstance(request.data.get("backfill"), Mapping):
            raise BadRequest("`backfill` must be an object {start, end, inputs, labels}")
        return Response(services.state_json(services.start_backfill(request.user, *key, request.data["backfill"])))


class Preview(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OBJECT, tags=TAG,
                   summary="A schedule in words and its next five slots (for the editor)")
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, Mapping):
            raise BadRequest("the body must be a Schedule definition: {cron, withSeconds, timezone}")
        return Response(services.preview(request.data))
