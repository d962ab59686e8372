"""Flow search: namespace prefix, free text, labels, paging and an allow-listed sort.

Unknown parameters and sort fields are rejected with 400 rather than ignored, so a typo (or an
injection attempt, RELIABILITY.md §4 #25) never silently changes what is returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from apps.core.errors import BadRequest
from apps.core.paging import parse_int
from apps.flows.models import Flow
from apps.flows.services import namespace_filter
from apps.namespaces.permissions import Action, visible

SORT_FIELDS = {"id": "flow_id", "namespace": "namespace", "revision": "revision", "updated": "updated_at",
               "created": "created_at"}
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    results: list[Flow]
    total: int


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    """`["team:data", "env:prod"]` → `{"team": "data", "env": "prod"}`."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise BadRequest(f"invalid label filter {item!r}: use key:value")
        out[key] = value
    return out


def parse_sort(value: str | None) -> list[str]:
    """`field:asc|desc`, comma-separated, from the allow-list only."""
    if not value:
        return ["namespace", "flow_id"]
    order = []
    for part in value.split(","):
        name, _, direction = part.strip().partition(":")
        if name not in SORT_FIELDS:
            raise BadRequest(f"unknown sort field {name!r}; allowed: {', '.join(sorted(SORT_FIELDS))}")
        if direction not in {"", "asc", "desc"}:
            raise BadRequest(f"unknown sort direction {direction!r}; use asc or desc")
        order.append(("-" if direction == "desc" else "") + SORT_FIELDS[name])
    return order


def filtered(user: Any, *, q: str = "", namespace: str = "", labels: Mapping[str, str] | None = None,
             include_deleted: bool = False) -> QuerySet[Flow]:
    qs = visible(Flow.objects.all(), user, Action.READ)
    if not include_deleted:
        qs = qs.filter(deleted=False)
    if namespace:
        qs = qs.filter(namespace_filter(namespace))
    if q:
        qs = qs.filter(Q(flow_id__icontains=q) | Q(namespace__icontains=q) | Q(description__icontains=q))
    for key, value in (labels or {}).items():
        if "__" in key:
            raise BadRequest(f"label key {key!r} cannot be searched: '__' is not allowed in a label filter")
        qs = qs.filter(**{f"labels__{key}": value})
    return qs


def search(user: Any, params: Mapping[str, Any], labels: Sequence[str], allowed: set[str]) -> Page:
    """Run a search from query parameters (`allowed` names the parameters the endpoint takes)."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    page = parse_int(params, "page", 1, 1, 1_000_000)
    size = parse_int(params, "size", 10, 1, MAX_PAGE_SIZE)
    qs = filtered(user, q=str(params.get("q") or ""), namespace=str(params.get("namespace") or ""),
                  labels=parse_labels(labels)).order_by(*parse_sort(params.get("sort")))
    total = qs.count()
    start = (page - 1) * size
    return Page(results=list(qs.defer("source")[start:start + size]), total=total)
