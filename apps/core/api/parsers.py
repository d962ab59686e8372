"""Request parsers: flow sources arrive as YAML text bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, parsers


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "request body too large"
    default_code = "payload_too_large"


class YamlSourceParser(parsers.BaseParser):
    """Returns the body as text, untouched: the source is stored verbatim and parsed strictly
    later. The size limit is enforced before the body is read (HTTP 413)."""

    media_type = "application/x-yaml"
    media_types = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "text/plain")

    def parse(  # type: ignore[override]
        self, stream: IO[Any] | None, media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> str:
        limit = settings.WEIR_MAX_SOURCE_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and str(declared).isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"flow source is {declared} bytes; the limit is {limit} bytes")
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(f"flow source is over the limit of {limit} bytes")
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"the body is not UTF-8 text: {exc}") from exc


class YamlParserMatchingAnything(YamlSourceParser):
    """For endpoints that only take YAML: accept any declared content type as YAML text."""

    media_type = "*/*"
