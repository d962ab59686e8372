"""One JSON error shape for the whole API: `{"message": …}` plus details (KESTRA.md §7.7).

- 400 unreadable input (YAML, limits, unknown types/properties, bad parameters)
- 401 not authenticated · 403 forbidden (CSRF) · 404 not found or not visible
- 409 state conflict (stale revision, existing id) · 413 too large · 422 rule violations
- 503 the database is unreachable, with `Retry-After` (apps/core/unavailable.py, docs/adr/0013)
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core import unavailable
from apps.core.errors import (
    BadRequest,
    Conflict,
    DeployInvalid,
    NotFound,
    SourceInvalid,
    SourceTooLarge,
    Unprocessable,
)


def _body(message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, **extra}


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    if "request" in context:  # authentication included: it runs inside the view
        outage = unavailable.answer_if_unreachable(context["request"], exc)
        if outage is not None:
            return outage
    if isinstance(exc, SourceInvalid):
        unreadable = exc.phase == "parse" or any(p.unreadable for p in exc.problems)
        first = exc.problems[0] if exc.problems else None
        summary = f"Invalid flow: {first}" if first else "Invalid flow"
        return Response(
            _body(summary, errors=[p.as_dict() for p in exc.problems]),
            status=status.HTTP_400_BAD_REQUEST if unreadable else status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if isinstance(exc, DeployInvalid):
        return Response(_body(f"Invalid flows: {exc}; nothing was saved", documents=exc.documents),
                        status=400 if exc.unreadable else 422)
    if isinstance(exc, SourceTooLarge):
        return Response(_body(str(exc)), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Conflict):
        return Response(_body(str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotFound | Http404):
        return Response(_body(str(exc) or "not found"), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, BadRequest):
        return Response(_body(str(exc)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Unprocessable):
        extra = {"errors": [p.as_dict() for p in exc.problems]} if exc.problems else {}
        return Response(_body(str(exc), **extra), status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = response.data
        message = detail.get("detail") if isinstance(detail, dict) and "detail" in detail else detail
        if isinstance(exc, exceptions.NotAuthenticated):
            message = "authentication required: log in, or send 'Authorization: Bearer <token>'"
        response.data = _body(str(message), **({"errors": detail} if isinstance(detail, dict | list)
                                                and "detail" not in detail else {}))
    return response


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(_body(f"no such endpoint: {request.method} {request.path}"), status=404)
