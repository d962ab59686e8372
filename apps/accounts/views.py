"""Account pages: API tokens (created here, shown once), groups, and redeeming an invitation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts import directory, invitations
from apps.accounts.models import User
from apps.accounts.services import create_token, revoke_token
from apps.core.errors import Conflict, NotFound, Unprocessable
from apps.namespaces.members import bindings_of


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    new_token = None
    if request.method == "POST":
        if "revoke" in request.POST:
            revoke_token(user, int(request.POST["revoke"]))
        else:
            new_token = create_token(user, request.POST.get("name", "")).raw
    return render(request, "accounts/tokens.html", {
        "tokens": user.api_tokens.filter(revoked=False), "new_token": new_token,
    })


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            made = directory.create_group(request.user, request.POST.get("name", "").strip())
            return redirect("group", name=made.name)
        except (Unprocessable, Conflict) as exc:
            error = str(exc)
    return render(request, "accounts/groups.html", {"groups": directory.groups(), "error": error},
                  status=422 if error else 200)


@login_required
def group(request: HttpRequest, name: str) -> HttpResponse:
    try:
        found = directory.group(name)
        if request.method == "POST":
            username = request.POST.get("remove") or request.POST.get("username", "").strip()
            directory.set_membership(request.user, name, username, "remove" not in request.POST)
            return redirect("group", name=name)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "accounts/group.html", {
        "group": found, "members": directory.group_members(found), "bindings": bindings_of(group=found),
    })


class _Signup(UserCreationForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = ("username",)


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link: a signed-in user accepts; anyone else signs in first or makes an account."""
    try:
        inv = invitations.open_invitation(token)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    form = _Signup(request.POST or None) if not request.user.is_authenticated else None
    if request.method == "POST":
        user = request.user
        if form is not None:
            if not form.is_valid():
                return render(request, "accounts/invitation.html", {"inv": inv, "form": form}, status=422)
            with transaction.atomic():
                user = form.save(commit=False)
                user.email = inv.email
                user.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if getattr(user, "is_service_account", False):
            raise PermissionDenied("a service account cannot accept invitations")
        try:
            invitations.accept(token, user)  # type: ignore[arg-type]
        except NotFound as exc:
            raise Http404(str(exc)) from exc
        messages.success(request, f"You are now {inv.role_label} on {inv.namespace}.")
        return redirect("namespaces:detail", namespace=inv.namespace)
    return render(request, "accounts/invitation.html", {"inv": inv, "form": form})
