"""`GET /executions/{id}/file/preview` and `POST /executions/{id}/actions/eval` (KESTRA.md §7.2).

The preview answers Kestra's `{extension, type, content, truncated}`: rows (`LIST`) for the
row-per-line formats tasks write (`.ion`, `.jsonl`; one JSON value per line), text (`TEXT`)
for anything else, cut at `maxRows` lines and `MAX_PREVIEW_BYTES`.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.executions import files
from apps.executions.access import allowed, readable
from apps.executions.api import introspect
from apps.executions.api.parsers import PlainTextParser
from apps.flows.search import parse_int
from apps.namespaces.permissions import Action

MAX_PREVIEW_BYTES = 1024 * 1024
ROW_FORMATS = {"ion", "jsonl"}


def preview(data: bytes, extension: str, max_rows: int, encoding: str) -> dict[str, Any]:
    truncated = len(data) > MAX_PREVIEW_BYTES
    try:
        text = data[:MAX_PREVIEW_BYTES].decode(encoding, errors="replace")
    except LookupError as error:
        raise BadRequest(f"unknown encoding {encoding!r}") from error
    lines = text.splitlines()
    if len(lines) > max_rows:
        lines, truncated = lines[:max_rows], True
    if extension in ROW_FORMATS:
        try:
            rows = [json.loads(line) for line in lines if line.strip()]
            return {"extension": extension, "type": "LIST", "content": rows, "truncated": truncated}
        except ValueError:
            pass
    return {"extension": extension, "type": "TEXT", "content": "\n".join(lines), "truncated": truncated}


class ExecutionFilePreview(APIView):
    @extend_schema(parameters=[OpenApiParameter("path", str, required=True),
                               OpenApiParameter("maxRows", int), OpenApiParameter("encoding", str)],
                   responses={200: OpenApiTypes.OBJECT}, tags=["executions"],
                   summary="A preview of one of the execution's files (rows or text)")
    def get(self, request: Request, execution_id: str) -> Response:
        row = readable(request.user, execution_id)
        path = request.query_params.get("path")
        if not path:
            raise BadRequest("path is required: ?path=kestra:///…")
        name = files.name_of(row, str(path))
        max_rows = parse_int(request.query_params, "maxRows", 5000, 1, 100_000)
        encoding = str(request.query_params.get("encoding") or "utf-8")
        with files.storage().open(name, "rb") as handle:
            data = handle.read(MAX_PREVIEW_BYTES + 1)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
        return Response(preview(data, extension, max_rows, encoding))


class EvalExecution(APIView):
    parser_classes = [PlainTextParser]

    @extend_schema(request={"text/plain": {"type": "string"}}, responses={200: OpenApiTypes.OBJECT},
                   tags=["executions"], summary="Evaluate an expression at execution level: {result} or {error}")
    def post(self, request: Request, execution_id: str) -> Response:
        row = allowed(request.user, execution_id, Action.WRITE)
        if not isinstance(request.data, str) or not request.data.strip():
            raise BadRequest("send the expression as the text/plain body")
        return Response(introspect.evaluate(row, None, request.data))
