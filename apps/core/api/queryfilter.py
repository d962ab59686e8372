"""Kestra 1.x `QueryFilter` search parameters, read into the search parameters Weir's views take.

Kestra's clients (the UI, kestrapy, the Go and Java SDKs) send searches as
`filters[field][OPERATION]=value`, labels as `filters[labels][EQUALS][key]=value`, and boolean
groups as `filters[or][0][field][OP]`. Weir's searches take the flat parameters of the Kestra
0.x API (`namespace`, `flowId`, `q`, `state`, `labels=k:v`, `startDate`, …). This module
translates the first form into the second, so every search view keeps one parameter parser.

A filter Weir cannot honour exactly is refused (400) rather than widened or ignored: a typo or an
unsupported operation must never silently change what a search returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from apps.core.errors import BadRequest

_FILTER = re.compile(r"^filters((?:\[[^\]]*\])+)$")
_SEGMENT = re.compile(r"\[([^\]]*)\]")

# field -> {operation -> the flat parameter it becomes}
SUPPORTED: dict[str, dict[str, str]] = {
    "q": {"EQUALS": "q", "CONTAINS": "q"},
    "query": {"EQUALS": "q", "CONTAINS": "q"},
    "namespace": {"EQUALS": "namespace", "PREFIX": "namespace", "STARTS_WITH": "namespace"},
    "flowId": {"EQUALS": "flowId"},
    "state": {"EQUALS": "state", "IN": "state"},
    "labels": {"EQUALS": "labels"},
    "startDate": {"GREATER_THAN_OR_EQUAL_TO": "startDate", "GREATER_THAN": "startDate"},
    "endDate": {"LESS_THAN_OR_EQUAL_TO": "endDate", "LESS_THAN": "endDate"},
    "timeRange": {"EQUALS": "timeRange"},
    "level": {"GREATER_THAN_OR_EQUAL_TO": "minLevel", "EQUALS": "minLevel"},
    "minLevel": {"GREATER_THAN_OR_EQUAL_TO": "minLevel", "EQUALS": "minLevel"},
    "triggerExecutionId": {"EQUALS": "triggerExecutionId"},
    "childFilter": {"EQUALS": "childFilter"},
    "scope": {"EQUALS": "scope", "IN": "scope"},
}
MULTI = {"state", "scope"}
"""Flat parameters that repeat: an `IN` list becomes one parameter per value."""


def _describe() -> str:
    return "; ".join(f"{field}: {'|'.join(ops)}" for field, ops in SUPPORTED.items())


def translate(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The query pairs with every `filters[...]` pair replaced by its flat parameter(s); None
    when there is no filter at all (the query string is left as it came)."""
    out: list[tuple[str, str]] = []
    found = False
    for name, value in pairs:
        match = _FILTER.match(name)
        if match is None:
            out.append((name, value))
            continue
        found = True
        segments = _SEGMENT.findall(match.group(1))
        if segments and segments[0] in {"and", "or"}:
            raise BadRequest(f"{name}: boolean filter groups are not supported; send a flat list of "
                             "filters[field][OPERATION] (an implicit AND)")
        if len(segments) < 2:
            raise BadRequest(f"{name}: a filter is filters[field][OPERATION]=value")
        field, operation, rest = segments[0], segments[1].upper(), segments[2:]
        ops = SUPPORTED.get(field)
        if ops is None:
            raise BadRequest(f"{name}: unknown filter field {field!r}; supported: {_describe()}")
        flat = ops.get(operation)
        if flat is None:
            raise BadRequest(f"{name}: operation {operation} is not supported for {field!r}; "
                             f"supported: {', '.join(ops)}")
        if flat == "labels":
            if len(rest) != 1 or not rest[0]:
                raise BadRequest(f"{name}: a label filter is filters[labels][EQUALS][key]=value")
            out.append(("labels", f"{rest[0]}:{value}"))
        elif rest:
            raise BadRequest(f"{name}: unexpected [{']['.join(rest)}] after the operation")
        elif flat in MULTI:
            out.extend((flat, part.strip()) for part in value.split(",") if part.strip())
        else:
            out.append((flat, value))
    return out if found else None


def from_body(filters: object) -> list[tuple[str, str]]:
    """A JSON list of `QueryFilter` objects (`{field, operation, value}`, what kestrapy sends in
    the body of a few bulk calls) read into the same flat parameters as their query form."""
    if not isinstance(filters, list):
        raise BadRequest("`filters` must be a list of {field, operation, value}")
    pairs: list[tuple[str, str]] = []
    for item in filters:
        if not isinstance(item, dict) or not item.get("field") or not item.get("operation"):
            raise BadRequest(f"a filter is {{field, operation, value}}, got {item!r}")
        if item.get("children") or item.get("logical"):
            raise BadRequest("boolean filter groups are not supported; send a flat list of filters (an implicit AND)")
        value = item.get("value")
        if isinstance(value, dict) and item["field"] == "labels":
            pairs.extend((f"filters[labels][{item['operation']}][{k}]", str(v)) for k, v in value.items())
            continue
        text = ",".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
        pairs.append((f"filters[{item['field']}][{item['operation']}]", text))
    return translate(pairs) or []
