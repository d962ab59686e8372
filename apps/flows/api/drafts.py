"""Invalid drafts over HTTP (docs/adr/0026): keep YAML that does not validate, load it, discard it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.parsers import YamlParserMatchingAnything
from apps.core.errors import BadRequest
from apps.flows import drafts
from apps.flows.models import FlowDraft

YAML_BODY = {"application/x-yaml": {"type": "string"}}
TAGS = ["flows"]
DRAFT_PROPERTIES: dict[str, Any] = {
    "namespace": {"type": "string"},
    "id": {"type": "string"},
    "source": {"type": "string", "description": "The draft YAML, verbatim"},
    "valid": {"type": "boolean", "description": "Always false: only invalid sources are drafts"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "path": {"type": "string"}, "line": {"type": "integer", "nullable": True},
        "column": {"type": "integer", "nullable": True}, "message": {"type": "string"}}}},
    "updatedBy": {"type": "string", "nullable": True},
    "updated": {"type": "string", "format": "date-time"},
}
DRAFT = {"type": "object", "properties": DRAFT_PROPERTIES}
DRAFT_SUMMARY = {"type": "object", "properties": {k: v for k, v in DRAFT_PROPERTIES.items() if k != "source"}}


def draft_json(draft: FlowDraft, *, source: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "namespace": draft.namespace,
        "id": draft.flow_id,
        "valid": False,
        "errors": draft.errors or [],
        "updatedBy": draft.created_by.get_username() if draft.created_by else None,
        "updated": draft.updated_at.isoformat(),
    }
    if source:
        body["source"] = draft.source
    return body


def _source(request: Request) -> str:
    if not isinstance(request.data, str):
        raise BadRequest("send the draft as YAML text with Content-Type: application/x-yaml")
    return request.data


class DraftCollection(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(responses={200: {"type": "array", "items": DRAFT_SUMMARY}}, tags=TAGS,
                   summary="Invalid drafts you may read (without their source)")
    def get(self, request: Request) -> Response:
        rows = drafts.drafts(request.user).select_related("created_by").order_by("namespace", "flow_id")
        return Response([draft_json(d, source=False) for d in rows])

    @extend_schema(request=YAML_BODY, responses={200: DRAFT, 400: OpenApiResponse(description=(
        "Empty body, no `id`/`namespace` in the source, or a source that is valid (save it as a revision)"))},
        tags=TAGS, summary="Save YAML that does not validate as the draft of the flow it names")
    def post(self, request: Request) -> Response:
        return Response(draft_json(drafts.save_draft(request.user, _source(request))))


class DraftDetail(APIView):
    parser_classes = [YamlParserMatchingAnything]

    @extend_schema(responses={200: DRAFT, 404: OpenApiResponse(description="No draft")}, tags=TAGS,
                   summary="The flow's invalid draft")
    def get(self, request: Request, namespace: str, flow_id: str) -> Response:
        return Response(draft_json(drafts.get_draft(request.user, namespace, flow_id)))

    @extend_schema(request=YAML_BODY, responses={200: DRAFT, 400: OpenApiResponse(
        description="Empty body or a source that is valid (save it as a revision)")}, tags=TAGS,
        summary="Save (replace) the flow's invalid draft; its revisions are untouched")
    def put(self, request: Request, namespace: str, flow_id: str) -> Response:
        return Response(draft_json(drafts.save_draft(request.user, _source(request), namespace, flow_id)))

    @extend_schema(responses={204: None, 404: OpenApiResponse(description="No draft")}, tags=TAGS,
                   summary="Discard the flow's invalid draft")
    def delete(self, request: Request, namespace: str, flow_id: str) -> Response:
        drafts.discard_draft(request.user, namespace, flow_id)
        return Response(status=204)
