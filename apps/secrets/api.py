"""`/api/v1/namespaces/{ns}/secrets` (Kestra EE's shape: a list of names, a PUT of `{key, value}`,
a DELETE by key). A value is accepted, encrypted and never returned."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.secrets import services


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise BadRequest("expected a JSON object such as {\"key\": \"DB_PASSWORD\", \"value\": \"…\"}")
    return dict(request.data)


def _saved(request: Request, namespace: str, key: str, body: dict[str, Any]) -> Response:
    row, created = services.set_secret(request.user, namespace, key, body.get("value"),
                                       str(body.get("description") or ""))
    entry = next(e for e in services.list_secrets(request.user, namespace) if e.key == row.name)
    return Response(entry.as_json(), status=201 if created else 200)


class NamespaceSecrets(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["secrets"],
                   summary="Names of the secrets a namespace sees (own and inherited); never values")
    def get(self, request: Request, namespace: str) -> Response:
        entries = services.list_secrets(request.user, namespace)
        return Response({"results": [e.as_json() for e in entries], "total": len(entries)})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
                   tags=["secrets"], summary="Create or replace a secret: body {key, value, description?}")
    def put(self, request: Request, namespace: str) -> Response:
        body = _body(request)
        return _saved(request, namespace, str(body.get("key") or ""), body)

    post = put


class NamespaceSecret(APIView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
                   tags=["secrets"], summary="Create or replace one secret: body {value, description?}",
                   operation_id="v1_namespaces_secret_update")
    def put(self, request: Request, namespace: str, key: str) -> Response:
        return _saved(request, namespace, key, _body(request))

    @extend_schema(responses={204: None}, tags=["secrets"], summary="Delete a secret of this namespace")
    def delete(self, request: Request, namespace: str, key: str) -> Response:
        services.delete_secret(request.user, namespace, key)
        return Response(status=204)
