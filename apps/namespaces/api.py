"""`/api/v1/namespaces…`: namespaces, their members and invitations. Thin: parse, call a service,
shape the reply. Authorization is in the services (`require`), so pages and API agree."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.namespaces import members, ports, services

TAG = ["namespaces"]


def json_object(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise BadRequest("expected a JSON object")
    return dict(request.data)


class Namespaces(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Namespaces the caller may read (`q` filters by substring)")
    def get(self, request: Request) -> Response:
        unknown = set(request.query_params) - {"q"}
        if unknown:
            raise BadRequest(f"unknown query parameter(s): {', '.join(sorted(unknown))}; allowed: q")
        rows = services.readable(request.user)
        if q := request.query_params.get("q", ""):
            rows = rows.filter(name__icontains=q)
        results = [services.as_json(r) for r in rows.order_by("name")]
        return Response({"results": results, "total": len(results)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="Create a namespace: {id, description?, variables?, pluginDefaults?, allowedNamespaces?}")
    def post(self, request: Request) -> Response:
        body = json_object(request)
        name = body.get("id", body.get("name"))
        row = services.create(request.user, name if isinstance(name, str) else "", body)
        return Response(services.as_json(row), status=201)


class NamespaceDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG, summary="One namespace", operation_id="v1_namespace_retrieve")
    def get(self, request: Request, namespace: str) -> Response:
        return Response(services.as_json(services.get(request.user, namespace)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Change description, variables, pluginDefaults or allowedNamespaces (OWNER)")
    def patch(self, request: Request, namespace: str) -> Response:
        return Response(services.as_json(services.update(request.user, namespace, json_object(request))))

    put = patch

    @extend_schema(responses={204: None}, tags=TAG, summary="Delete an empty namespace (OWNER)")
    def delete(self, request: Request, namespace: str) -> Response:
        services.delete(request.user, namespace)
        return Response(status=204)


class Inherited(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Variables and plugin defaults as flows in this namespace see them")
    def get(self, request: Request, namespace: str) -> Response:
        services.get(request.user, namespace)
        return Response({"namespace": namespace, "variables": services.variables_for(namespace),
                         "pluginDefaults": services.defaults_for(namespace)})


class Members(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG, summary="Role bindings here and inherited (OWNER)")
    def get(self, request: Request, namespace: str) -> Response:
        found = members.members(request.user, namespace)
        return Response({"results": [m.as_json() for m in found], "total": len(found)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
                   tags=TAG, summary="Grant a role: {kind: user|group, name, role} (OWNER)")
    def post(self, request: Request, namespace: str) -> Response:
        body = json_object(request)
        kind = str(body.get("kind") or "user")
        if kind not in {"user", "group"}:
            raise BadRequest(f"kind must be 'user' or 'group', got {kind!r}")
        return _granted(request, namespace, kind + "s", str(body.get("name") or ""), body.get("role"))


def _granted(request: Request, namespace: str, kind: str, name: str, role: Any) -> Response:
    row, created = members.grant(request.user, namespace, kind, name, members.parse_role(role))
    return Response(members.Member(row, inherited=False).as_json(), status=201 if created else 200)


class Member(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Set one member's role: {role} (OWNER)")
    def put(self, request: Request, namespace: str, kind: str, name: str) -> Response:
        return _granted(request, namespace, kind, name, json_object(request).get("role"))

    @extend_schema(responses={204: None}, tags=TAG, summary="Remove one member's binding here (OWNER)")
    def delete(self, request: Request, namespace: str, kind: str, name: str) -> Response:
        members.revoke(request.user, namespace, kind, name)
        return Response(status=204)


class Invitations(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG, summary="Pending invitations (OWNER)")
    def get(self, request: Request, namespace: str) -> Response:
        pending = ports.pending_invitations.call(request.user, namespace)
        return Response({"results": [ports.invitation_json.call(i) for i in pending], "total": len(pending)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="Invite someone by email: {email, role} (OWNER); the link is in the reply "
                           "when no mail backend is configured")
    def post(self, request: Request, namespace: str) -> Response:
        body = json_object(request)
        sent = ports.invite.call(request.user, namespace, str(body.get("email") or ""),
                                 members.parse_role(body.get("role")), request.build_absolute_uri("/"))
        return Response(sent.as_json(), status=201)
