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
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core.errors import Conflict, NotFound
from apps.core.markdown import render_markdown
from apps.flows import drafts, search, services
from apps.flows.models import FlowDraft
from apps.namespaces.permissions import Action, can
from apps.ui.highlight import highlight_yaml

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
                  revision: int | None = None, draft: FlowDraft | None = None) -> dict[str, Any]:
    api = _api_root()
    return {
        "mode": mode,
        "namespace": namespace,
        "id": flow_id,
        "revision": revision,
        "source": draft.source if draft else source,
        # An invalid draft opens instead of the saved revision (docs/adr/0026).
        "draft": {"updated": draft.updated_at.isoformat(),
                  "updatedBy": draft.created_by.get_username() if draft.created_by else None,
                  "problems": len(draft.errors or [])} if draft else None,
        "urls": {
            "api": api,
            "schema": f"{api}/plugins/schemas/flow",
            "flowPage": reverse("ui:flow", args=["__NS__", "__ID__"]),
            "editPage": reverse("ui:flow_edit", args=["__NS__", "__ID__"]),
            "revisionsPage": reverse("ui:flow_revisions", args=["__NS__", "__ID__"]),
            "executePage": reverse("ui:flow_execute", args=["__NS__", "__ID__"]),
            "flowsPage": reverse("ui:flows"),
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
    pending, unsaved = _drafts_of_list(request, q, namespace)
    for flow in page.object_list:
        flow.draft = pending.get((flow.namespace, flow.flow_id))
    return render(request, "ui/flows.html", {
        "page": page, "q": q, "namespace": namespace, "namespaces": list(namespaces), "unsaved_drafts": unsaved,
        "filtered": bool(q or namespace),
        "query": urlencode({k: v for k, v in (("q", q), ("namespace", namespace)) if v}),
    })


def _drafts_of_list(request: HttpRequest, q: str, namespace: str) -> tuple[dict[tuple[str, str], FlowDraft],
                                                                         list[FlowDraft]]:
    """The drafts the list shows: all of them by identity (to mark their flows), and those of
    flows never saved validly (rows of their own), under the same namespace and text filters."""
    rows = drafts.drafts(request.user).select_related("created_by").order_by("namespace", "flow_id")
    if namespace:
        rows = rows.filter(services.namespace_filter(namespace))
    if q:
        rows = rows.filter(Q(flow_id__icontains=q) | Q(namespace__icontains=q))
    pending = {(d.namespace, d.flow_id): d for d in rows[:500]}
    live = set(search.filtered(request.user).filter(flow_id__in={k[1] for k in pending})
               .values_list("namespace", "flow_id")) if pending else set()
    return pending, [d for key, d in pending.items() if key not in live]


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
    """The editor on an existing flow; saving sends `If-Match` with the revision loaded here.

    A pending invalid draft opens instead of the latest revision; a flow that exists only as a
    draft (never saved validly) opens as a new flow holding the draft."""
    draft = drafts.drafts(request.user).filter(namespace=namespace, flow_id=flow_id).select_related("created_by").first()
    try:
        flow = services.get_flow(request.user, namespace, flow_id)
    except NotFound as exc:
        if draft is None:
            raise Http404(str(exc)) from exc
        if not can(request.user, Action.WRITE, namespace):
            raise PermissionDenied("you may read this draft but not edit it") from exc
        props = _editor_props(mode="create", source=draft.source, namespace=namespace, flow_id=flow_id, draft=draft)
        return render(request, "ui/flow_editor.html", {"flow": None, "draft": draft, "editor_props": props})
    if not can(request.user, Action.WRITE, flow.namespace):
        raise PermissionDenied("you may read this flow but not edit it")
    props = _editor_props(mode="edit", source=flow.source, namespace=flow.namespace, flow_id=flow.flow_id,
                          revision=flow.revision, draft=draft)
    return render(request, "ui/flow_editor.html", {"flow": flow, "draft": draft, "editor_props": props})


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
    rows = _side_by_side(by_number[left].source, by_number[right].source)
    # The page opens at the first changed row (links carry `#first-change`).
    first_change = next((i for i, row in enumerate(rows) if row["kind"] != "same"), -1)
    return render(request, "ui/flow_revisions.html", {
        "flow": flow, "revisions": revisions, "left": by_number[left], "right": by_number[right],
        "rows": rows, "first_change": first_change, "can_edit": can_edit,
    })
