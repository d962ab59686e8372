"""Request bodies of the executions API: inputs (multipart or JSON) and plain-text expressions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.http import QueryDict
from rest_framework import exceptions, parsers
from rest_framework.request import Request

from apps.core.errors import BadRequest

MAX_EXPRESSION_BYTES = 64 * 1024
FILES_PART = "files"


class PlainTextParser(parsers.BaseParser):
    """The body as UTF-8 text, whatever its declared type (`/eval` takes a bare expression)."""

    media_type = "*/*"

    def parse(  # type: ignore[override]
        self, stream: IO[Any] | None, media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> str:
        data = stream.read(MAX_EXPRESSION_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_EXPRESSION_BYTES:
            raise exceptions.ParseError(f"the expression is over the limit of {MAX_EXPRESSION_BYTES} bytes")
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"the body is not UTF-8 text: {exc}") from exc


INPUT_PARSERS = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]


def inputs_from(request: Request) -> dict[str, Any]:
    """Inputs as Kestra clients send them.

    - multipart/form-data: plain fields by input id (a repeated field becomes a list); files in
      the part `files` with the input id as filename, or in a part named after the input;
    - a JSON object: `{"inputId": value, …}`;
    - no body: no inputs.
    """
    data = request.data
    if isinstance(data, QueryDict):
        out: dict[str, Any] = {}
        for key in data:
            if key in request.FILES:
                continue
            values = data.getlist(key)
            out[key] = values[0] if len(values) == 1 else values
        for part, uploads in request.FILES.lists():
            for upload in uploads:
                key = (upload.name or "") if part == FILES_PART else part
                if not key:
                    raise BadRequest("a file in the 'files' part needs the input id as its filename")
                out[key] = upload
        return out
    if isinstance(data, Mapping):
        return dict(data)
    if data in (None, "", b""):
        return {}
    raise BadRequest("send inputs as multipart/form-data fields or as a JSON object")
