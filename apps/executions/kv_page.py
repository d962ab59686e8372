"""The KV store page of a namespace: its keys with typed values, a form to set one (with an
optional expiry), delete. READ on the namespace to look, WRITE to change (the same rule as the
KV API, apps/executions/api/views_kv.py)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.core.errors import NotFound
from apps.executions.records import kvstore
from apps.namespaces.permissions import Action, can, require
from apps.plugins.sdk import parse_duration

TYPES = ("AUTO", "STRING", "NUMBER", "BOOLEAN", "JSON", "DATETIME", "DATE", "DURATION")
SHOWN_CHARS = 500


class Invalid(ValueError):
    pass


def typed(text: str, wanted: str) -> tuple[Any, str]:
    """The value to store for `text` read as `wanted` (AUTO: as the API reads a PUT body)."""
    if wanted == "STRING":
        return text, "STRING"
    value, kind = kvstore.read_typed(text)
    if wanted not in ("AUTO", kind):
        raise Invalid(f"{text!r} is not a valid {wanted}")
    return value, kind


def ttl_seconds(raw: str) -> float | None:
    if not raw.strip():
        return None
    try:
        seconds = parse_duration(raw)
    except ValueError as error:
        raise Invalid(f"expiry: {error}") from error
    if seconds <= 0:
        raise Invalid(f"expiry must be a positive duration, got {raw!r}")
    return seconds


def _shown(value: Any, kind: str) -> str:
    text = value if kind in ("STRING", "DATETIME", "DATE", "DURATION") and isinstance(value, str) \
        else json.dumps(value, indent=1 if kind == "JSON" else None, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _save(request: HttpRequest, namespace: str) -> None:
    if "delete" in request.POST:
        key = request.POST["delete"]
        if not kvstore.delete(namespace, key):
            raise Invalid(f"no key {key!r} in {namespace}")
        messages.success(request, f"Key {key} deleted.")
        return
    key = request.POST.get("key", "").strip()
    try:
        kvstore.check_key(key)
    except ValueError as error:
        raise Invalid(str(error)) from error
    wanted = request.POST.get("type", "AUTO").upper()
    if wanted not in TYPES:
        raise Invalid(f"unknown type {wanted!r}; one of {', '.join(TYPES)}")
    value, kind = typed(request.POST.get("value", ""), wanted)
    kvstore.put(namespace, key, value, kind=kind, ttl=ttl_seconds(request.POST.get("ttl", "")))
    messages.success(request, f"Key {key} set ({kind}).")


@login_required
def namespace_kv(request: HttpRequest, namespace: str) -> HttpResponse:
    try:
        require(request.user, Action.READ, namespace)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    error, status = "", 200
    if request.method == "POST":
        require(request.user, Action.WRITE, namespace)
        try:
            _save(request, namespace)
            return redirect("kv:namespace", namespace=namespace)
        except Invalid as exc:
            error, status = str(exc), 422
    rows = kvstore.live_entries().filter(namespace=namespace).order_by("key")
    entries = [{"key": r.key, "kind": r.kind, "value": _shown(r.value, r.kind), "expires_at": r.expires_at,
                "updated": r.updated} for r in rows]
    return render(request, "executions/kv.html", {
        "namespace": namespace, "entries": entries, "error": error, "types": TYPES,
        "can_write": can(request.user, Action.WRITE, namespace),
        "form": request.POST if error else {},
    }, status=status)
