"""Server-rendered pages. Thin: read the request, call a service, render a template.

Authorization lives in the services (`get_flow` answers NotFound for what the user may not read,
DESIGN.md §7); here that becomes Http404. Islands get their data through `json_script` props.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core.errors import Conflict, NotFound
from apps.flows import search, services
from apps.namespaces.permissions import Action, can
from apps.ui.highlight import highlight_yaml
from apps.ui.markdown import render_markdown

logger = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_SIZE = 25
TABS = ("topology", "source", "triggers", "revisions")
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,149}$")

STARTER_FLOW = """\
id: hello_world
namespace: {namespace}
description: |
  A starter flow. Edit it, then press **Save** (Ctrl+S / ⌘S).

labels:
  team: data

inputs:
  - id: name
    type: STRING
    defaults: World

tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello, {{{{ inputs.name }}}}!"

  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: "greeted {{{{ inputs.name }}}}"
"""


def _or_404(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _topology(source: str) -> tuple[dict[str, Any] | None, str | None]:
    """The FlowGraph of a stored source, or why there is none.

    A failure is contained: a bug in graph building must cost the topology tab, not the page.
    """
    try:
        return services.graph_of(source), None
    except Exception:
        logger.exception("building the topology failed")
        return None, "Topology unavailable for this flow."


def _api_root() -> str:
    return reverse("api-flows").removesuffix("/flows")


def _editor_props(*, mode: str, source: str, namespace: str | None = None, flow_id: str | None = None,
                  revision: int | None = None) -> dict[str, Any]:
    api = _api_root()
    return {
        "mode": mode,
        "namespace": namespace,
        "id": flow_id,
        "revision": revision,
        "source": source,
        "urls": {
            "api": api,
            "schema": f"{api}/plugins/schemas/flow",
            "flowPage": reverse("ui:flow", args=["__NS__", "__ID__"]),
            "editPage": reverse("ui:flow_edit", args=["__NS__", "__ID__"]),
            "revisionsPage": reverse("ui:flow_revisions", args=["__NS__", "__ID__"]),
        },
    }


@login_required
def flows(request: HttpRequest) -> HttpResponse:
    """The flow list: free-text search, namespace filter (with children), paging."""
    q = request.GET.get("q", "").strip()
    namespace = request.GET.get("namespace", "").strip()
    qs = search.filtered(request.user, q=q, namespace=namespace).defer("source").order_by("namespace", "flow_id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    namespaces = (search.filtered(request.user).order_by("namespace")
                  .values_list("namespace", flat=True).distinct())
    return render(request, "ui/flows.html", {
        "page": page, "q": q, "namespace": namespace, "namespaces": list(namespaces),
        "filtered": bool(q or namespace),
        "query": urlencode({k: v for k, v in (("q", q), ("namespace", namespace)) if v}),
    })


@login_required
def flow_detail(request: HttpRequest, namespace: str, flow_id: str) -> HttpResponse:
    """One flow: header, topology, source and revisions (`?revision=N` shows an older source)."""
    flow = _or_404(services.get_flow, request.user, namespace, flow_id)
    # `flow` is authorized above; its revisions need no second lookup of the flow.
    revisions = list(flow.revisions.order_by("revision").select_related("created_by"))
    shown = None
    raw_revision = request.GET.get("revision", "")
    if raw_revision:
        if not raw_revision.isdigit():
            raise Http404("revision must be a number")
        shown = next((r for r in revisions if r.revision == int(raw_revision)), None)
        if shown is None:
            raise Http404(f"flow {namespace}.{flow_id} has no revision {raw_revision}")
    tab = request.GET.get("tab", "source" if shown else "topology")
    if tab not in TABS:
        tab = "topology"
    source = shown.source if shown else flow.source
    graph, graph_message = _topology(source)
    return render(request, "ui/flow_detail.html", {
        "flow": flow,
        "labels": sorted((flow.labels or {}).items()),
        "description_html": render_markdown(flow.description),
        "revisions": list(reversed(revisions)),
        "shown": shown,
        "source": source,
        "source_html": highlight_yaml(source),
        "tab": tab,
        "topology_props": {"graph": graph, "message": graph_message},
        "can_edit": can(request.user, Action.WRITE, flow.namespace),
        **_triggers_tab(request, flow.namespace, flow.flow_id, tab),
    })


def _triggers_tab(request: HttpRequest, namespace: str, flow_id: str, tab: str) -> dict[str, Any]:
    from apps.triggers import services as trigger_services
    from apps.ui import views_triggers

    states = list(trigger_services.states(request.user, namespace=namespace, flow_id=flow_id)
                  .filter(namespace=namespace))
    if tab != "triggers":
        return {"trigger_count": len(states)}
    return {"trigger_count": len(states), "rows": views_triggers.rows(request.user, states),
            "progress_props": views_triggers.progress_props(namespace, flow_id)}


@login_required
def flow_edit(request: HttpRequest, namespace: str, flow_id: str) -> HttpResponse:
    """The editor on an existing flow; saving sends `If-Match` with the revision loaded here."""
    flow = _or_404(services.get_flow, request.user, namespace, flow_id)
    if not can(request.user, Action.WRITE, flow.namespace):
        raise PermissionDenied("you may read this flow but not edit it")
    props = _editor_props(mode="edit", source=flow.source, namespace=flow.namespace, flow_id=flow.flow_id,
                          revision=flow.revision)
    return render(request, "ui/flow_editor.html", {"flow": flow, "editor_props": props})


@login_required
def flow_new(request: HttpRequest) -> HttpResponse:
    """The editor on a starter flow (`?namespace=` pre-fills the namespace)."""
    namespace = request.GET.get("namespace", "").strip()
    if not _NAMESPACE.match(namespace):
        namespace = "company.team"
    props = _editor_props(mode="create", source=STARTER_FLOW.format(namespace=namespace))
    return render(request, "ui/flow_editor.html", {"flow": None, "editor_props": props})


def _side_by_side(old: str, new: str) -> list[dict[str, Any]]:
    """Rows of a side-by-side diff: each row has a left and a right cell (line number, text, kind)."""
    rows: list[dict[str, Any]] = []
    a, b = old.splitlines(), new.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend({"kind": "same", "left": (i1 + k + 1, a[i1 + k]), "right": (j1 + k + 1, b[j1 + k])}
                        for k in range(i2 - i1))
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            left = (i1 + k + 1, a[i1 + k]) if i1 + k < i2 else None
            right = (j1 + k + 1, b[j1 + k]) if j1 + k < j2 else None
            rows.append({"kind": tag, "left": left, "right": right})
    return rows


def _revision_number(raw: str, default: int, known: set[int]) -> int:
    if not raw:
        return default
    if not raw.isdigit() or int(raw) not in known:
        raise Http404(f"no revision {raw!r}")
    return int(raw)


@login_required
def flow_revisions(request: HttpRequest, namespace: str, flow_id: str) -> HttpResponse:
    """Revisions with a side-by-side diff of any two (`?left=N&right=M`), and restore (POST).

    Restoring saves the old source as a new revision (history is never rewritten), with the
    revision shown on the page as the optimistic-lock base, so a restore cannot silently
    overwrite a save made meanwhile.
    """
    flow = _or_404(services.get_flow, request.user, namespace, flow_id)
    revisions = list(flow.revisions.order_by("-revision").select_related("created_by"))
    by_number = {r.revision: r for r in revisions}
    can_edit = can(request.user, Action.WRITE, flow.namespace)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("you may read this flow but not edit it")
        raw, base = request.POST.get("restore", ""), request.POST.get("base", "")
        if not raw.isdigit() or int(raw) not in by_number or not base.isdigit():
            return HttpResponse(json.dumps({"message": "restore needs an existing revision and the base revision"}),
                                status=400, content_type="application/json")
        try:
            services.update_flow(request.user, namespace, flow_id, by_number[int(raw)].source,
                                 base_revision=int(base))
        except Conflict as exc:
            return HttpResponse(json.dumps({"message": str(exc)}), status=409, content_type="application/json")
        return redirect(reverse("ui:flow_revisions", args=[namespace, flow_id]))
    if request.method != "GET":
        return HttpResponse(status=405)
    numbers = set(by_number)
    right = _revision_number(request.GET.get("right", ""), flow.revision, numbers)
    previous = max((n for n in numbers if n < right), default=right)
    left = _revision_number(request.GET.get("left", ""), previous, numbers)
    return render(request, "ui/flow_revisions.html", {
        "flow": flow, "revisions": revisions, "left": by_number[left], "right": by_number[right],
        "rows": _side_by_side(by_number[left].source, by_number[right].source), "can_edit": can_edit,
    })
