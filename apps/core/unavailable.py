"""The web's answer while PostgreSQL is unreachable: 503 with `Retry-After`, never a 500 page
(docs/adr/0013).

One answer (`response`), reached three ways, because a database error can surface at three
depths of a request:
- in a DRF view, including its authentication (bearer tokens, sessions): the API's exception
  handler (apps/core/api/errors.py) returns it;
- in any other view (pages, `request.user` resolved by a decorator): `DatabaseUnavailableMiddleware`
  turns the exception into it;
- in a middleware (a session saved on the way out): Django's 500 handler, `server_error`, which
  sees the exception being handled.

API paths get `{"message": "database unavailable, retry later", "retryAfter": N}`; pages get a
small HTML page (no template: rendering one would run context processors that read the
database). The answer is not logged per request: each process logs the outage once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from apps.core import outage

RETRY_AFTER_SECONDS = 5
MESSAGE = "database unavailable, retry later"
_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Weir: database unavailable"
         "</title></head><body><h1>Database unavailable</h1><p>Weir cannot reach its database right now. "
         "This page will work again once it is back; retry in a few seconds.</p></body></html>")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def response(request: HttpRequest) -> HttpResponse:
    """The 503 for `request`: JSON for the API (and JSON clients), a short page otherwise."""
    answer: HttpResponse
    if wants_json(request):
        answer = JsonResponse({"message": MESSAGE, "retryAfter": RETRY_AFTER_SECONDS}, status=503)
    else:
        answer = HttpResponse(_PAGE, status=503, content_type="text/html; charset=utf-8")
    answer["Retry-After"] = str(RETRY_AFTER_SECONDS)
    answer["Cache-Control"] = "no-store"
    answer._has_been_logged = True  # type: ignore[attr-defined]  # Django's per-request error line
    return answer


def answer_if_unreachable(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The 503 when `exc` means the database is unreachable, else None."""
    if not outage.unreachable(exc):
        return None
    outage.OUTAGE.down(exc)
    return response(request)


class DatabaseUnavailableMiddleware:
    """Views that fail because the database is unreachable answer 503 (see the module doc)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        answer = self.get_response(request)
        if outage.OUTAGE.active and answer.status_code < 500 and _connected():
            outage.OUTAGE.up()
        return answer

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return answer_if_unreachable(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: the 503 when the exception being handled is an outage, Django's 500 page
    otherwise."""
    exc = sys.exc_info()[1]
    if exc is not None:
        answer = answer_if_unreachable(request, exc)
        if answer is not None:
            return answer
    return defaults.server_error(request)


def _connected() -> bool:
    """Whether this thread holds a working connection: the sign that an outage is over."""
    try:
        return connection.connection is not None and connection.is_usable()
    except Exception:
        return False
