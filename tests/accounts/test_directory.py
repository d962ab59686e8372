"""Groups and service accounts over the API: superusers manage, everyone signed in reads; a
service account works only through its token and is bound like anyone else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.services import create_token
from apps.namespaces.models import Binding, Role
from apps.namespaces.permissions import Action, can

FLOW = "id: f\nnamespace: ci.deploy\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user, 't').raw}")
    return client


@pytest.fixture
def root(make_user: Callable[..., Any]) -> Any:
    return make_user("root", is_superuser=True)


@pytest.mark.django_db
def test_groups_are_managed_by_superusers_and_grant_through_bindings(root: Any, make_user: Callable[..., Any]) -> None:
    ann = make_user("ann")
    admin, plain = _client(root), _client(ann)
    assert plain.post("/api/v1/groups", {"name": "crew"}, format="json").status_code == 403
    assert admin.post("/api/v1/groups", {"name": "crew"}, format="json").status_code == 201
    assert admin.post("/api/v1/groups", {"name": "crew"}, format="json").status_code == 409
    assert admin.post("/api/v1/groups", {"name": "bad name!"}, format="json").status_code == 422
    assert plain.put("/api/v1/groups/crew/members/ann").status_code == 403
    assert admin.put("/api/v1/groups/crew/members/ann").status_code == 204
    from django.contrib.auth.models import Group

    Binding.objects.create(group=Group.objects.get(name="crew"), namespace="ops", role=Role.EXECUTE)
    assert can(ann, Action.EXECUTE, "ops.x")
    detail = plain.get("/api/v1/groups/crew").json()
    assert [m["username"] for m in detail["members"]] == ["ann"]
    assert detail["bindings"] == [{"namespace": "ops", "role": "EXECUTE"}]
    assert admin.delete("/api/v1/groups/crew/members/ann").status_code == 204
    assert not can(ann, Action.READ, "ops")
    assert admin.delete("/api/v1/groups/crew").status_code == 204
    assert not Binding.objects.exists()


@pytest.mark.django_db
def test_a_service_account_acts_by_token_within_its_bindings(root: Any) -> None:
    admin = _client(root)
    made = admin.post("/api/v1/service-accounts", {"name": "ci-bot", "description": "CI"}, format="json")
    assert made.status_code == 201 and made.json()["serviceAccount"] is True
    token = admin.post("/api/v1/service-accounts/ci-bot/tokens", {"name": "deploy"}, format="json").json()["token"]
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bot.post("/api/v1/flows", FLOW, content_type="application/x-yaml").status_code == 404
    admin.post("/api/v1/namespaces", {"id": "ci"}, format="json")
    assert admin.post("/api/v1/namespaces/ci/members", {"name": "ci-bot", "role": "WRITE"},
                      format="json").status_code == 201
    assert bot.post("/api/v1/flows", FLOW, content_type="application/x-yaml").status_code == 200
    assert bot.get("/api/v1/flows/search?namespace=other").json()["total"] == 0
    listed = bot.get("/api/v1/service-accounts").json()["results"]
    assert listed[0]["bindings"] == [{"namespace": "ci", "role": "WRITE"}]
    from apps.accounts.models import User

    account = User.objects.get(username="ci-bot")
    assert not account.has_usable_password()
    assert not Client().login(username="ci-bot", password="")


@pytest.mark.django_db
def test_only_superusers_make_service_accounts_or_their_tokens(root: Any, make_user: Callable[..., Any]) -> None:
    plain = _client(make_user("ann"))
    assert plain.post("/api/v1/service-accounts", {"name": "x"}, format="json").status_code == 403
    _client(root).post("/api/v1/service-accounts", {"name": "bot"}, format="json")
    assert plain.post("/api/v1/service-accounts/bot/tokens", {"name": "t"}, format="json").status_code == 403
    assert _client(root).post("/api/v1/service-accounts/ann/tokens", {}, format="json").status_code == 404
