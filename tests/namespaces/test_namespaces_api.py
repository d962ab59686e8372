"""/api/v1/namespaces…: create, read, edit, delete; members; invitations (end to end over HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.accounts.services import create_token
from apps.namespaces.models import Binding, Namespace, Role
from apps.namespaces.permissions import Action, can


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user, 't').raw}")
    return client


@pytest.fixture
def boss(make_user: Callable[..., Any]) -> Any:
    user = make_user("boss")
    Namespace.objects.create(name="acme")
    Binding.objects.create(user=user, namespace="acme", role=Role.OWNER)
    return user


@pytest.mark.django_db
def test_an_owner_creates_a_child_edits_and_deletes_it(boss: Any) -> None:
    api = _client(boss)
    made = api.post("/api/v1/namespaces", {"id": "acme.data", "description": "Data team",
                                           "variables": {"region": "eu"}}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["parent"] == "acme" and made.json()["variables"] == {"region": "eu"}
    assert api.post("/api/v1/namespaces", {"id": "acme.data"}, format="json").status_code == 409
    changed = api.patch("/api/v1/namespaces/acme.data", {
        "pluginDefaults": [{"type": "io.kestra.plugin.core.log.Log", "values": {"level": "WARN"}}],
        "allowedNamespaces": ["partner"]}, format="json")
    assert changed.status_code == 200 and changed.json()["allowedNamespaces"] == ["partner"]
    inherited = api.get("/api/v1/namespaces/acme.data/inherited").json()
    assert inherited["variables"] == {"region": "eu"} and inherited["pluginDefaults"][0]["values"] == {"level": "WARN"}
    assert [n["id"] for n in api.get("/api/v1/namespaces").json()["results"]] == ["acme", "acme.data"]
    assert api.delete("/api/v1/namespaces/acme").status_code == 409  # it has a child
    assert api.delete("/api/v1/namespaces/acme.data").status_code == 204
    assert not Namespace.objects.filter(name="acme.data").exists()


@pytest.mark.django_db
def test_a_root_namespace_needs_a_superuser(boss: Any, make_user: Callable[..., Any]) -> None:
    refused = _client(boss).post("/api/v1/namespaces", {"id": "zeta"}, format="json")
    assert refused.status_code == 404 and "zeta" in refused.json()["message"]
    root = make_user("root", is_superuser=True)
    assert _client(root).post("/api/v1/namespaces", {"id": "zeta"}, format="json").status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "path"), [
    ({"id": "Bad Name"}, "name"), ({"id": "a..b"}, "name"), ({"id": "acme.x", "variables": [1]}, "variables"),
    ({"id": "acme.x", "pluginDefaults": [{"values": {}}]}, "pluginDefaults[0].type"),
    ({"id": "acme.x", "allowedNamespaces": "partner"}, "allowedNamespaces"),
    ({"id": "acme.x", "colour": "red"}, "colour"),
], ids=["spaces", "empty-segment", "variables-list", "default-no-type", "allowed-string", "unknown-field"])
def test_bad_fields_are_422_naming_the_field(boss: Any, body: dict[str, Any], path: str) -> None:
    response = _client(boss).post("/api/v1/namespaces", body, format="json")
    assert response.status_code == 422, response.content
    assert path in [e["path"] for e in response.json()["errors"]]
    assert not Namespace.objects.filter(name="acme.x").exists()


@pytest.mark.django_db
def test_members_grant_change_revoke_and_inherited_rows(boss: Any, make_user: Callable[..., Any]) -> None:
    from django.contrib.auth.models import Group

    ann = make_user("ann")
    Group.objects.create(name="crew")
    Namespace.objects.create(name="acme.data")
    api = _client(boss)
    granted = api.post("/api/v1/namespaces/acme.data/members", {"kind": "user", "name": "ann", "role": "execute"},
                       format="json")
    assert granted.status_code == 201 and granted.json()["role"] == "EXECUTE"
    assert can(ann, Action.EXECUTE, "acme.data.x") and not can(ann, Action.WRITE, "acme.data")
    assert api.post("/api/v1/namespaces/acme.data/members", {"kind": "group", "name": "crew", "role": "READ"},
                    format="json").status_code == 201
    assert api.put("/api/v1/namespaces/acme.data/members/users/ann", {"role": "WRITE"},
                   format="json").status_code == 200
    assert can(ann, Action.WRITE, "acme.data")
    rows = api.get("/api/v1/namespaces/acme.data/members").json()["results"]
    assert {(r["kind"], r["name"], r["role"], r["inherited"]) for r in rows} == {
        ("user", "ann", "WRITE", False), ("group", "crew", "READ", False), ("user", "boss", "OWNER", True)}
    assert api.delete("/api/v1/namespaces/acme.data/members/users/ann").status_code == 204
    assert not can(ann, Action.READ, "acme.data")
    assert api.delete("/api/v1/namespaces/acme.data/members/users/ann").status_code == 404
    bad_role = api.post("/api/v1/namespaces/acme.data/members", {"name": "ann", "role": "ADMIN"}, format="json")
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["path"] == "role"
    assert api.post("/api/v1/namespaces/acme.data/members", {"name": "nobody", "role": "READ"},
                    format="json").status_code == 404


@pytest.mark.django_db
def test_a_writer_cannot_manage_members(boss: Any, make_user: Callable[..., Any]) -> None:
    wes = make_user("wes2")
    Binding.objects.create(user=wes, namespace="acme", role=Role.WRITE)
    api = _client(wes)
    assert api.get("/api/v1/namespaces/acme/members").status_code == 403
    assert api.post("/api/v1/namespaces/acme/members", {"name": "wes2", "role": "OWNER"},
                    format="json").status_code == 403
    assert not can(wes, Action.OWNER, "acme")  # no self-promotion


@pytest.mark.django_db
def test_an_invitation_link_is_shown_without_mail_and_works_once(boss: Any, settings: Any,
                                                                 make_user: Callable[..., Any]) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "localhost"
    sent = _client(boss).post("/api/v1/namespaces/acme/invitations", {"email": "new@example.com", "role": "WRITE"},
                              format="json")
    assert sent.status_code == 201 and sent.json()["mailed"] is False
    link = sent.json()["link"]
    assert "/invitations/" in link and len(mail.outbox) == 0
    page = link.split("testserver", 1)[1]
    from django.test import Client

    guest = Client()
    assert guest.get(page).status_code == 200
    joined = guest.post(page, {"username": "newbie", "password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    assert joined.status_code == 302 and joined["Location"] == "/namespaces/acme/"
    newbie = type(boss).objects.get(username="newbie")
    assert newbie.email == "new@example.com" and can(newbie, Action.WRITE, "acme.any")
    assert guest.get(page).status_code == 404  # once only
    other = Client()
    other.force_login(make_user("late"))
    assert other.post(page).status_code == 404


@pytest.mark.django_db
def test_an_invitation_is_mailed_when_a_backend_is_configured(boss: Any, make_user: Callable[..., Any]) -> None:
    sent = _client(boss).post("/api/v1/namespaces/acme/invitations", {"email": "kim@example.com", "role": "READ"},
                              format="json")
    assert sent.status_code == 201 and sent.json()["mailed"] is True and sent.json()["link"] is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["kim@example.com"]
    link = next(w for w in mail.outbox[0].body.split() if "/invitations/" in w)
    kim = make_user("kim")
    from django.test import Client

    browser = Client()
    browser.force_login(kim)
    assert browser.post(link.split("testserver", 1)[1]).status_code == 302
    assert can(kim, Action.READ, "acme") and not can(kim, Action.EXECUTE, "acme")
    listed = _client(boss).get("/api/v1/namespaces/acme/invitations").json()
    assert listed["total"] == 0  # accepted ones are no longer pending
    bad = _client(boss).post("/api/v1/namespaces/acme/invitations", {"email": "nope", "role": "READ"}, format="json")
    assert bad.status_code == 422
