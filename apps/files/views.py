"""The namespace files page: a file tree and an editor (the `namespace-files` island)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.errors import NotFound
from apps.namespaces.permissions import Action, can, require


@login_required
def namespace_files(request: HttpRequest, namespace: str) -> HttpResponse:
    try:
        require(request.user, Action.READ, namespace)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    props = {"namespace": namespace, "apiBase": f"/api/v1/namespaces/{namespace}/files",
             "canWrite": can(request.user, Action.WRITE, namespace)}
    return render(request, "files/namespace_files.html", {"namespace": namespace, "props": props})
