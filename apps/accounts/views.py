"""Account pages: API tokens (created here, shown once)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.models import User
from apps.accounts.services import create_token, revoke_token


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
