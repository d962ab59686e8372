"""What a locked-out login gets (django-axes' AXES_LOCKOUT_CALLABLE): HTTP 429 with Retry-After,
as Weir's JSON error shape for API clients and as a page for the browser."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def _wants_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return request.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None,
               credentials: dict[str, Any] | None = None) -> HttpResponse:
    limit = get_failure_limit(request, credentials)
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    minutes = max(1, round(seconds / 60))
    message = (f"too many failed sign-ins ({limit}) for this account or address: "
               f"try again in {minutes} minute{'s' if minutes != 1 else ''}")
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"message": message, "errors": []}, status=429)
    else:
        response = render(request, "accounts/locked_out.html",
                          {"failure_limit": limit, "minutes": minutes, "message": message}, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
