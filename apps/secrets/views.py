"""The secrets page of a namespace: names, where each comes from, a form to set one, delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.core.errors import NotFound, Unprocessable
from apps.secrets import services


@login_required
def namespace_secrets(request: HttpRequest, namespace: str) -> HttpResponse:
    try:
        services.authorize(request.user, namespace)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    error, status = "", 200
    if request.method == "POST":
        try:
            if "delete" in request.POST:
                services.delete_secret(request.user, namespace, request.POST["delete"])
                messages.success(request, f"Secret {request.POST['delete'].upper()} deleted.")
            else:
                row, created = services.set_secret(request.user, namespace, request.POST.get("key", ""),
                                                   request.POST.get("value", ""), request.POST.get("description", ""))
                messages.success(request, f"Secret {row.name} {'created' if created else 'updated'}.")
            return redirect("secrets:namespace", namespace=namespace)
        except (Unprocessable, NotFound) as exc:
            error, status = str(exc), 422 if isinstance(exc, Unprocessable) else 404
        except PermissionDenied:
            raise
    return render(request, "secrets/list.html", {
        "namespace": namespace, "entries": services.list_secrets(request.user, namespace), "error": error,
        "key": request.POST.get("key", "") if error else "",
    }, status=status)
