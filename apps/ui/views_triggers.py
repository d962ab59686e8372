"""The Triggers page and the flow page's Triggers tab (KESTRA.md §4.7).

GET lists trigger rows (namespace with children, flow, free text); POST applies one action to one
trigger through `apps.triggers.services` (enable, disable, start/pause/unpause/delete a backfill)
and redirects back. Errors a user can fix come back as a message on the page.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.errors import BadRequest, Conflict, NotFound, Unprocessable
from apps.namespaces.permissions import Action, can
from apps.triggers import services
from apps.triggers.models import TriggerState

PAGE_SIZE = 50


def rows(user: Any, states: list[TriggerState]) -> list[dict[str, Any]]:
    """What a table row shows: the state's JSON plus whether `user` may change it."""
    out = []
    for state in states:
        row = services.state_json(state)
        row["canWrite"] = can(user, Action.WRITE, state.namespace)
        row["schedule"] = state.type in ("io.kestra.plugin.core.trigger.Schedule",
                                         "io.kestra.plugin.core.trigger.ScheduleOnDates")
        row["shortType"] = state.type.rsplit(".", 1)[-1]
        out.append(row)
    return out


def progress_props(namespace: str, flow_id: str) -> dict[str, Any]:
    return {"searchUrl": reverse("api-triggers-search"), "namespace": namespace, "flowId": flow_id}


@login_required
def triggers(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _act(request)
    namespace = request.GET.get("namespace", "").strip()
    flow_id = request.GET.get("flowId", "").strip()
    q = request.GET.get("q", "").strip()
    qs = services.states(request.user, namespace=namespace or None, flow_id=flow_id or None, q=q or None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    namespaces = sorted(set(services.states(request.user).values_list("namespace", flat=True)))
    return render(request, "ui/triggers.html", {
        "page": page, "rows": rows(request.user, list(page.object_list)), "namespace": namespace,
        "flow_id": flow_id, "q": q, "namespaces": namespaces, "filtered": bool(namespace or flow_id or q),
        "query": urlencode({k: v for k, v in (("namespace", namespace), ("flowId", flow_id), ("q", q)) if v}),
        "progress_props": progress_props(namespace, flow_id),
    })


def _labels(text: str) -> list[dict[str, str]]:
    labels = []
    for part in text.split(","):
        if part.strip():
            key, sep, value = part.partition(":")
            if not sep or not key.strip():
                raise Unprocessable(f"a label is key:value, got {part.strip()!r}")
            labels.append({"key": key.strip(), "value": value.strip()})
    return labels


def _act(request: HttpRequest) -> HttpResponse:
    data = request.POST
    key = (data.get("namespace", ""), data.get("flowId", ""), data.get("triggerId", ""))
    if not all(key):
        return HttpResponse(json.dumps({"message": "namespace, flowId and triggerId are required"}), status=400,
                            content_type="application/json")
    action = data.get("action", "")
    try:
        if action in ("enable", "disable"):
            services.set_disabled(request.user, *key, action == "disable")
        elif action == "backfill":
            raw_inputs = data.get("inputs", "").strip()
            try:
                inputs = json.loads(raw_inputs) if raw_inputs else {}
            except ValueError:
                raise Unprocessable("backfill inputs must be a JSON object") from None
            services.start_backfill(request.user, *key, {
                "start": data.get("start", ""), "end": data.get("end", "") or None, "inputs": inputs,
                "labels": _labels(data.get("labels", ""))})
            messages.success(request, f"Backfill of {key[2]} started.")
        elif action in ("pause", "unpause"):
            services.pause_backfill(request.user, *key, action == "pause")
        elif action == "delete":
            services.delete_backfill(request.user, *key)
        else:
            raise BadRequest(f"unknown action {action!r}")
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except (Unprocessable, Conflict, BadRequest) as exc:
        messages.error(request, str(exc))
    target = data.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("ui:triggers")
    return redirect(target)
