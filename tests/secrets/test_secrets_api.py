"""`/api/v1/namespaces/{ns}/secrets` and the secrets page (RELIABILITY.md §4 rows 20, 23, 34).

Who may do what comes from `can()`: OWNERs manage secrets; a caller who cannot read the
namespace gets 404, one who reads but does not own it 403. Expectations are computed with
`can()` itself so this file follows the role model wherever it stands.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.services import create_token
from apps.namespaces.permissions import Action, can
from apps.secrets import services
from apps.secrets.models import Secret


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user, 'tests').raw}")
    return client


@pytest.fixture
def root(make_user: Any) -> Any:
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture
def root_api(root: Any) -> APIClient:
    return client_for(root)


@pytest.mark.django_db
def test_set_list_and_delete(root_api: APIClient) -> None:
    created = root_api.put("/api/v1/namespaces/acme/secrets", {"key": "db_password", "value": "s3cr3t-v4lue",
                                                               "description": "the DB"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["key"] == "DB_PASSWORD" and "value" not in created.json()
    again = root_api.put("/api/v1/namespaces/acme/secrets/DB_PASSWORD", {"value": "other-value"}, format="json")
    assert again.status_code == 200
    root_api.put("/api/v1/namespaces/acme.data/secrets/LOCAL", {"value": "local-value"}, format="json")
    listed = root_api.get("/api/v1/namespaces/acme.data/secrets")
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 2 and [r["key"] for r in body["results"]] == ["DB_PASSWORD", "LOCAL"]
    assert body["results"][0]["inherited"] is True and body["results"][0]["namespace"] == "acme"
    assert "s3cr3t" not in listed.content.decode() and "other-value" not in listed.content.decode()
    assert services.lookup("acme", "DB_PASSWORD") == "other-value"
    assert root_api.delete("/api/v1/namespaces/acme/secrets/db_password").status_code == 204
    assert not Secret.objects.filter(namespace="acme").exists()
    missing = root_api.delete("/api/v1/namespaces/acme/secrets/DB_PASSWORD")
    assert missing.status_code == 404 and "DB_PASSWORD" in missing.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "body", "status", "needle"), [
    ("/api/v1/namespaces/acme/secrets", {"key": "1bad", "value": "x"}, 422, "invalid secret name"),
    ("/api/v1/namespaces/acme/secrets", {"key": "OK", "value": ""}, 422, "non-empty string"),
    ("/api/v1/namespaces/acme/secrets", {"key": "OK", "value": 12}, 422, "non-empty string"),
    ("/api/v1/namespaces/acme/secrets", {"key": "OK", "value": "x" * 70_000}, 422, "at most"),
    ("/api/v1/namespaces/acme/secrets", ["not", "an", "object"], 400, "JSON object"),
    ("/api/v1/namespaces/Bad..NS!/secrets", {"key": "OK", "value": "x"}, 404, "not found"),
], ids=["bad-name", "empty", "not-string", "too-big", "not-object", "bad-namespace"])
def test_bad_input_is_a_4xx_naming_the_problem(root_api: APIClient, url: str, body: Any, status: int,
                                                needle: str) -> None:
    response = root_api.put(url, body, format="json")
    assert response.status_code == status, response.content
    assert needle in response.json()["message"]
    assert not Secret.objects.exists()


@pytest.mark.django_db
def test_anonymous_callers_get_401(anon: APIClient) -> None:
    assert anon.get("/api/v1/namespaces/acme/secrets").status_code == 401
    assert anon.put("/api/v1/namespaces/acme/secrets", {"key": "A", "value": "b"}, format="json").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("namespace", ["prod", "prod.x", "prodx"], ids=["own", "child", "look-alike"])
def test_non_owners_get_404_or_403_as_can_decides(root: Any, outsider: Any, namespace: str) -> None:
    services.set_secret(root, namespace, "TOKEN", "owner-only")
    expected = (404 if not can(outsider, Action.READ, namespace)
                else 403 if not can(outsider, Action.OWNER, namespace) else None)
    api = client_for(outsider)
    calls = [api.get(f"/api/v1/namespaces/{namespace}/secrets"),
             api.put(f"/api/v1/namespaces/{namespace}/secrets/TOKEN", {"value": "changed"}, format="json"),
             api.delete(f"/api/v1/namespaces/{namespace}/secrets/TOKEN")]
    if expected is None:
        assert [c.status_code for c in calls] == [200, 200, 204]
    else:
        assert [c.status_code for c in calls] == [expected] * 3
        assert services.lookup(namespace, "TOKEN") == "owner-only"
        assert all("owner-only" not in c.content.decode() for c in calls)


@pytest.mark.django_db
def test_the_page_lists_names_sets_and_deletes(client: Any, root: Any) -> None:
    client.force_login(root)
    services.set_secret(root, "acme", "INHERITED", "parent-value")
    page = client.get("/namespaces/acme.data/secrets/")
    assert page.status_code == 200
    assert b"INHERITED" in page.content and b"parent-value" not in page.content
    saved = client.post("/namespaces/acme.data/secrets/", {"key": "api_token", "value": "tok-123456"})
    assert saved.status_code == 302
    assert services.lookup("acme.data", "API_TOKEN") == "tok-123456"
    refused = client.post("/namespaces/acme.data/secrets/", {"key": "9no", "value": "v"})
    assert refused.status_code == 422 and b"invalid secret name" in refused.content
    deleted = client.post("/namespaces/acme.data/secrets/", {"delete": "API_TOKEN"})
    assert deleted.status_code == 302 and services.lookup("acme.data", "API_TOKEN") is None


@pytest.mark.django_db
def test_a_cross_site_post_without_csrf_token_is_refused(root: Any) -> None:
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(root)
    page = browser.post("/namespaces/acme/secrets/", {"key": "EVIL", "value": "v"})
    api = browser.put("/api/v1/namespaces/acme/secrets", {"key": "EVIL", "value": "v"},
                      content_type="application/json")
    assert page.status_code == 403 and api.status_code == 403
    assert not Secret.objects.exists()
    assert browser.get("/api/v1/namespaces/acme/secrets").status_code == 200
