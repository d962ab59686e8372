"""`/api/v1/groups…` and `/api/v1/service-accounts…` (KESTRA.md §8.2's Group and Service Account).
Reading is open to every authenticated user; changes are for superusers (apps/accounts/directory.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import directory
from apps.core.errors import BadRequest
from apps.namespaces.members import bindings_of
from apps.namespaces.models import Role

TAG = ["accounts"]


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise BadRequest("expected a JSON object")
    return dict(request.data)


def _bindings(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"namespace": b.namespace or "*", "role": Role(b.role).label} for b in rows]


class Groups(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG, summary="Every group")
    def get(self, request: Request) -> Response:
        found = [{"name": g.name} for g in directory.groups()]
        return Response({"results": found, "total": len(found)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="Create a group: {name} (superuser)")
    def post(self, request: Request) -> Response:
        made = directory.create_group(request.user, _body(request).get("name"))
        return Response({"name": made.name, "members": [], "bindings": []}, status=201)


class GroupDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG, summary="A group's members and bindings",
                   operation_id="v1_group_retrieve")
    def get(self, request: Request, group: str) -> Response:
        found = directory.group(group)
        return Response({"name": found.name,
                         "members": [directory.user_json(u) for u in directory.group_members(found)],
                         "bindings": _bindings(bindings_of(group=found))})

    @extend_schema(responses={204: None}, tags=TAG, summary="Delete a group and its bindings (superuser)")
    def delete(self, request: Request, group: str) -> Response:
        directory.delete_group(request.user, group)
        return Response(status=204)


class GroupMember(APIView):
    @extend_schema(request=None, responses={204: None}, tags=TAG, summary="Add a user to a group (superuser)")
    def put(self, request: Request, group: str, username: str) -> Response:
        directory.set_membership(request.user, group, username, True)
        return Response(status=204)

    @extend_schema(responses={204: None}, tags=TAG, summary="Remove a user from a group (superuser)")
    def delete(self, request: Request, group: str, username: str) -> Response:
        directory.set_membership(request.user, group, username, False)
        return Response(status=204)


class ServiceAccounts(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAG, summary="Every service account")
    def get(self, request: Request) -> Response:
        found = [{**directory.user_json(u), "bindings": _bindings(bindings_of(subject_user=u))}
                 for u in directory.service_accounts()]
        return Response({"results": found, "total": len(found)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="Create a service account: {name, description?} (superuser)")
    def post(self, request: Request) -> Response:
        body = _body(request)
        made = directory.create_service_account(request.user, body.get("name"), str(body.get("description") or ""))
        return Response(directory.user_json(made), status=201)


class ServiceAccountTokens(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT}, tags=TAG,
                   summary="Issue an API token for a service account: {name} (superuser; shown once)")
    def post(self, request: Request, name: str) -> Response:
        issued = directory.issue_token(request.user, name, str(_body(request).get("name") or ""))
        return Response({"id": issued.token.pk, "name": issued.token.name, "token": issued.raw}, status=201)
