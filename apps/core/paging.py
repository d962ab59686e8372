"""Query-parameter reading and paging shared by every app's list endpoints (KESTRA.md §7).

Bounded integers and unknown-parameter refusal answer 400 naming the parameter (RELIABILITY.md
§4 #25): a typo never silently changes what is returned. Here in the kernel so that a low app
(audit) pages its list the same way as executions and flows without importing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet

from apps.core.errors import BadRequest

M = TypeVar("M", bound=Model)

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[M]):
    results: list[M]
    total: int


def parse_int(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def refuse_unknown(params: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def paginate(qs: QuerySet[M], params: Mapping[str, Any], default_size: int = 10) -> Page[M]:
    page = parse_int(params, "page", 1, 1, 1_000_000)
    size = parse_int(params, "size", default_size, 1, MAX_PAGE_SIZE)
    start = (page - 1) * size
    return Page(results=list(qs[start:start + size]), total=qs.count())
