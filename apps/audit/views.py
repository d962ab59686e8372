"""The audit log page: the API's filters as a form, newest events first."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from apps.audit import services
from apps.core.errors import BadRequest
from apps.core.paging import parse_int

PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """A bad filter shows the message and the unfiltered log, with status 400."""
    error = ""
    try:
        filters = services.parse_filters(request.GET)
        number = parse_int(request.GET, "page", 1, 1, 1_000_000)
    except BadRequest as exc:
        error, filters, number = str(exc), services.Filters(), 1
    events = services.search(request.user, filters)
    total = events.count()
    start = (number - 1) * PAGE_SIZE
    rows = [(event, _compact(event.before), _compact(event.after)) for event in events[start:start + PAGE_SIZE]]
    return render(request, "audit/list.html", {
        "rows": rows, "total": total, "filters": filters, "error": error,
        "page": number, "has_next": start + PAGE_SIZE < total, "has_previous": number > 1,
        "query": urlencode(filters.as_query()),
    }, status=400 if error else 200)


def _compact(value: Any) -> str:
    return "" if value is None else json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
