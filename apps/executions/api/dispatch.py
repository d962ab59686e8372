"""Paths that are either an action on an execution or a flow whose id is the action word.

`POST /executions/{a}/resume` resumes execution `a` (Kestra's path), but is also the path that
creates an execution of flow `resume` in namespace `a`; likewise for every other action word
(`kill`, `restart`, `replay`, `pause`, `labels`, `follow`, `flow`, …) and for `/executions/{a}/{resume|eval}/validate`.
One rule decides: **the execution wins when the caller may read an execution with id `a`;
otherwise a flow `a.<word>` the caller may read is executed; otherwise it is the action** (which
answers the same 404 as any unknown execution, so the rule reveals nothing the caller may not
read). Execution ids are 22 random base62 characters, so a namespace equal to one of them is a
deliberate act, and even then the caller may read both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.executions.api import views, views_flow, views_follow, views_replay
from apps.executions.models import Execution
from apps.flows.models import Flow
from apps.namespaces.permissions import Action, can

View = Callable[..., HttpResponse]

ACTIONS: dict[str, View] = {
    "kill": views.Kill.as_view(),
    "restart": views.Restart.as_view(),
    "replay": views.Replay.as_view(),
    "replay-with-inputs": views_replay.ReplayWithInputs.as_view(),
    "resume": views.Resume.as_view(),
    "pause": views.Pause.as_view(),
    "change-status": views.ChangeStatus.as_view(),
    "state": views.TaskRunState.as_view(),
    "labels": views.Labels.as_view(),
    "unqueue": views.Unqueue.as_view(),
    "force-run": views.ForceRun.as_view(),
    "file": views.ExecutionFile.as_view(),
    "graph": views.ExecutionGraph.as_view(),
    "follow": views_follow.FollowExecution.as_view(),
    "follow-dependencies": views_follow.FollowDependencies.as_view(),
    "flow": views_flow.ExecutionFlow.as_view(),
}
"""Every `/executions/{id}/<word>` route: the words a flow id could collide with."""

_create = views.CreateExecution.as_view()
_validate_inputs = views.ValidateInputs.as_view()
_resume_validate = views.ResumeValidate.as_view()
_eval = views.Eval.as_view()


def _caller(request: HttpRequest) -> Any:
    """The user DRF will authenticate: a bearer token's owner, else the session's, else None."""
    from rest_framework.exceptions import AuthenticationFailed

    from apps.accounts.authentication import BearerTokenAuthentication

    try:
        found = BearerTokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    if found is not None:
        return found[0]
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def means_flow(request: HttpRequest, first: str, word: str) -> bool:
    """True when `POST …/{first}/{word}` names flow `first.word` rather than execution `first`."""
    if request.method != "POST":
        return False
    user = _caller(request)
    if user is None:
        return False
    namespace = Execution.objects.filter(id=first).values_list("namespace", flat=True).first()
    if namespace is not None and can(user, Action.READ, namespace):
        return False
    return bool(can(user, Action.READ, first)
                and Flow.objects.filter(namespace=first, flow_id=word, deleted=False).exists())


def _like(view: View, dispatcher: View) -> View:
    """`dispatcher` dressed as `view` for the OpenAPI schema (drf-spectacular reads `cls`) and
    for CSRF (each target is a DRF view, which enforces CSRF for session users itself)."""
    dispatcher.cls = view.cls  # type: ignore[attr-defined]
    dispatcher.initkwargs = getattr(view, "initkwargs", {})  # type: ignore[attr-defined]
    return csrf_exempt(dispatcher)


def action(word: str) -> View:
    """The route of `/executions/{execution_id}/<word>`."""
    target = ACTIONS[word]

    def dispatch(request: HttpRequest, execution_id: str) -> HttpResponse:
        if means_flow(request, execution_id, word):
            return _create(request, namespace=execution_id, flow_id=word)
        return target(request, execution_id=execution_id)
    return _like(target, dispatch)


def resume_validate() -> View:
    """`/executions/{execution_id}/resume/validate`, or the inputs check of flow `resume`."""
    def dispatch(request: HttpRequest, execution_id: str) -> HttpResponse:
        if means_flow(request, execution_id, "resume"):
            return _validate_inputs(request, namespace=execution_id, flow_id="resume")
        return _resume_validate(request, execution_id=execution_id)
    return _like(_resume_validate, dispatch)


def eval_or_validate() -> View:
    """`/executions/{execution_id}/eval/{task_run_id}`, or the inputs check of flow `eval`."""
    def dispatch(request: HttpRequest, execution_id: str, task_run_id: str) -> HttpResponse:
        if task_run_id == "validate" and means_flow(request, execution_id, "eval"):
            return _validate_inputs(request, namespace=execution_id, flow_id="eval")
        return _eval(request, execution_id=execution_id, task_run_id=task_run_id)
    return _like(_eval, dispatch)
