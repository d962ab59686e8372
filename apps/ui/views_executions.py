"""Execution pages: the list, one execution, and the form that starts a flow.

Reads go through the same search and access functions as the API, so a page never shows what
`GET /api/v1/…` would hide; every action button posts to the API (with the CSRF token) rather
than to a second, page-only code path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core.errors import BadRequest, NotFound
from apps.engine.expressions import render_typed
from apps.engine.inputs import resolve_inputs
from apps.engine.states import RESTARTABLE, State
from apps.executions import access, files
from apps.executions.api.inputs import declarations, on_resume_declarations
from apps.executions.models import Execution, LogLine, TaskRun
from apps.executions.records import search
from apps.flows import services as flow_services
from apps.flows.models import FlowDraft
from apps.namespaces.permissions import Action, can
from apps.secrets.masking import mask
from apps.ui import execution_display as show

PAGE_SIZE = 25
LOG_LIMIT = 2000


@login_required
def executions(request: HttpRequest) -> HttpResponse:
    """The list: namespace (with children), flow, state and `key:value` label filters, newest first."""
    namespace = request.GET.get("namespace", "").strip()
    flow_id = request.GET.get("flowId", "").strip()
    state = request.GET.get("state", "").strip().upper()
    labels_text = request.GET.get("labels", "").strip()
    labels = [item.strip() for item in labels_text.replace(",", " ").split() if item.strip()]
    error = ""
    try:
        qs = search.executions(request.user, {"namespace": namespace, "flowId": flow_id},
                               states=[state] if state else [], labels=labels)
        qs = qs.order_by("-created", "-pk")
    except BadRequest as exc:
        error, qs = str(exc), Execution.objects.none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [{"ex": ex, "tone": show.STATE_TONE.get(ex.state, "muted"),
             "duration": show.duration(ex.start_date, ex.end_date, now),
             "started": show.when(ex.start_date) or ex.created,
             "labels": [lb for lb in ex.labels if not str(lb.get("key")).startswith("system.")]}
            for ex in page.object_list]
    filters = {k: v for k, v in (("namespace", namespace), ("flowId", flow_id), ("state", state),
                                 ("labels", labels_text)) if v}
    return render(request, "executions/list.html", {
        "page": page, "rows": rows, "error": error, "namespace": namespace, "flow_id": flow_id, "state": state,
        "labels_text": labels_text, "states": [s.value for s in State], "filtered": bool(filters),
        "query": urlencode(filters),
        "live": {"namespace": namespace, "flowId": flow_id, "state": state, "firstPage": page.number == 1},
    })


def _readable(request: HttpRequest, execution_id: str) -> Execution:
    try:
        return access.readable(request.user, execution_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _file_link(ex: Execution, value: Any) -> str:
    """The download URL of a value that is one of this execution's files, else ""."""
    if isinstance(value, str) and value.startswith("kestra:///" + files.prefix(ex)):
        return f"/api/v1/executions/{ex.id}/file?{urlencode({'path': value})}"
    return ""


@login_required
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    """One execution: header, inputs/outputs, the task-run tree and the log (`?level=` filter)."""
    ex = _readable(request, execution_id)
    now = timezone.now()
    runs = list(TaskRun.objects.filter(execution_id=ex.id).order_by("seq"))
    _mask_shown(ex, runs)
    level = request.GET.get("level", "").upper()
    try:
        levels = search.levels_from(level or None)
    except BadRequest:
        level, levels = "", list(search.LEVELS)
    logs = LogLine.objects.filter(execution_id=ex.id, level__in=levels).order_by("seq")
    log_count = logs.count()
    state = State(ex.state)
    can_execute = can(request.user, Action.EXECUTE, ex.namespace)
    resume_fields = show.input_fields(on_resume_declarations(ex)) if state == State.PAUSED else []
    return render(request, "executions/detail.html", {
        "ex": ex, "tone": show.STATE_TONE.get(ex.state, "muted"), "terminated": show.is_terminated(ex.state),
        "duration": show.duration(ex.start_date, ex.end_date, now),
        "started": show.when(ex.start_date), "ended": show.when(ex.end_date),
        "labels": [(lb.get("key"), lb.get("value")) for lb in ex.labels],
        "inputs": [(k, show.pretty(v), _file_link(ex, v)) for k, v in (ex.inputs or {}).items()],
        "outputs": [(k, show.pretty(v), _file_link(ex, v)) for k, v in (ex.outputs or {}).items()],
        "rows": show.run_tree(runs, now), "logs": list(logs[:LOG_LIMIT]), "log_count": log_count,
        "log_limit": LOG_LIMIT, "level": level, "levels": search.LEVELS, "level_tone": show.LEVEL_TONE,
        "can_execute": can_execute, "can_kill": can_execute and not show.is_terminated(ex.state),
        "can_restart": can_execute and (show.is_terminated(ex.state) or state == State.PAUSED)
        and any(State(r.state) in RESTARTABLE for r in runs),
        "can_resume": can_execute and state == State.PAUSED, "resume_fields": resume_fields,
        "parent": ex.trigger_execution_id or ex.parent_id,
        "live": _live_props(ex, can_execute, bool(resume_fields)),
    })


def _mask_shown(ex: Execution, runs: list[TaskRun]) -> None:
    """Mask secrets in what the page shows (inputs, outputs, task-run outputs), as the API's
    answers are (apps/secrets/renderers.py): this process learns the execution's namespace
    secrets, SECRET inputs and the values it derived from secrets first. The rows are only displayed, never saved."""
    from apps.secrets.masking import mask_value
    from apps.secrets.renderers import learn

    learn({"id": ex.id, "flowId": ex.flow_id, "parentId": ex.trigger_execution_id or ex.parent_id,
           "namespace": ex.namespace, "inputs": ex.inputs})
    ex.inputs, ex.outputs = mask_value(ex.inputs or {}), mask_value(ex.outputs)
    for run in runs:
        run.outputs = mask_value(run.outputs)


def _live_props(ex: Execution, can_execute: bool, has_resume_form: bool) -> dict[str, Any]:
    """Props of the `execution` island (frontend/src/execution.tsx): it reads the rest live."""
    return {
        "id": ex.id, "canExecute": can_execute, "hasResumeForm": has_resume_form,
        "urls": {"graph": f"/api/v1/executions/{ex.id}/graph", "logsDownload": f"/api/v1/logs/{ex.id}/download",
                 "execution": reverse("ui:execution", args=["__ID__"])},
    }


@login_required
def flow_execute(request: HttpRequest, namespace: str, flow_id: str) -> HttpResponse:
    """A form for the flow's inputs; the browser posts it to `POST /api/v1/executions/{ns}/{id}`."""
    try:
        flow = flow_services.get_flow(request.user, namespace, flow_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    if not can(request.user, Action.EXECUTE, flow.namespace):
        raise PermissionDenied("you may read this flow but not execute it")
    declared = declarations(flow.namespace, flow.flow_id, None)
    fields = show.input_fields(declared)
    dynamic = any(d.get("dependsOn") or d.get("expression") is not None for d in declared)
    draft = FlowDraft.objects.filter(namespace=flow.namespace, flow_id=flow.flow_id).select_related("created_by").first()
    context: dict[str, Any] = {"flow": flow, "fields": fields, "draft": draft, "form_state": {
        "dynamic": dynamic, "url": reverse("ui:flow_execute_form", args=[flow.namespace, flow.flow_id])}}
    return render(request, "executions/execute.html", context)


def _nested(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Dotted input ids as nested maps (`a.b` → `{"a": {"b": …}}`), as expressions read them."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        *parents, last = key.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
        node[last] = value
    return out


@login_required
@require_POST
def flow_execute_form(request: HttpRequest, namespace: str, flow_id: str) -> JsonResponse:
    """The run form's live state (KESTRA.md §1.3): which inputs are enabled by their `dependsOn`
    and the choices of SELECT/MULTISELECT inputs with an `expression`, for the values typed so far
    (a JSON object `{inputId: value}`; files are not sent: they only matter on submit)."""
    try:
        flow = flow_services.get_flow(request.user, namespace, flow_id)
    except NotFound as exc:
        return JsonResponse({"message": str(exc)}, status=404)
    if not can(request.user, Action.EXECUTE, flow.namespace):
        return JsonResponse({"message": f"you may read flows in {flow.namespace!r} but not execute them"},
                            status=403)
    try:
        provided = json.loads(request.body or b"{}")
    except ValueError:
        provided = None
    if not isinstance(provided, dict):
        return JsonResponse({"message": 'send the form values as a JSON object, e.g. {"region": "eu"}'}, status=400)
    declared = declarations(flow.namespace, flow.flow_id, None)
    resolved = resolve_inputs(declared, provided, render_typed=render_typed, store_file=lambda _id, _raw: "(upload)")
    context = {"inputs": _nested((r.id, r.value) for r in resolved if r.enabled)}
    out = []
    for decl, item in zip(declared, resolved, strict=True):
        entry: dict[str, Any] = {"id": item.id, "enabled": item.enabled}
        expression = decl.get("expression")
        if item.enabled and expression is not None and str(decl.get("type", "")).upper() in {"SELECT", "MULTISELECT"}:
            try:
                choices = render_typed(str(expression), context)
                entry["choices"] = [str(c) for c in choices] if isinstance(choices, list) else []
            except Exception as error:  # a user's expression: report, never raise
                entry["choices"], entry["error"] = [], mask(str(error))
        out.append(entry)
    return JsonResponse({"inputs": out})
