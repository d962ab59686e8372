"""The audit log: what writers record, and who reads what (API `/api/v1/audit`, page `/audit/`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.services import create_token
from apps.audit.models import AuditEvent
from apps.audit.services import readable_events, record
from apps.executions import services as ex_services
from apps.flows import services as flow_services
from apps.namespaces.permissions import Action, can

FLOW = "id: hello\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {msg}\n"


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


def actions(**filters: Any) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_flow_changes_are_recorded_with_their_actor(root: Any, root_api: APIClient, post_yaml: Any) -> None:
    assert post_yaml(root_api, "/api/v1/flows", FLOW.format(ns="acme", msg="one")).status_code == 200
    assert post_yaml(root_api, "/api/v1/flows/acme/hello", FLOW.format(ns="acme", msg="two"),
                     method="PUT").status_code == 200
    assert root_api.delete("/api/v1/flows/acme/hello").status_code == 204
    events = list(AuditEvent.objects.filter(target_type="flow").order_by("id"))
    assert [e.action for e in events] == ["flow.create", "flow.update", "flow.delete"]
    assert {e.actor_name for e in events} == {"root"} and {e.target_id for e in events} == {"acme.hello"}
    assert [e.after for e in events] == [{"revision": 1}, {"revision": 2}, {"revision": 3}]


@pytest.mark.django_db
def test_execution_actions_are_recorded(root: Any, root_api: APIClient) -> None:
    flow_services.create_flow(root, FLOW.format(ns="acme", msg="hi"))
    created = root_api.post("/api/v1/executions/acme/hello", {}, format="json").json()
    execution_id = created["id"]
    assert root_api.delete(f"/api/v1/executions/{execution_id}/kill").status_code in (200, 202)
    assert root_api.post(f"/api/v1/executions/{execution_id}/labels", [{"key": "team", "value": "a"}],
                         format="json").status_code == 200
    assert root_api.delete(f"/api/v1/executions/{execution_id}").status_code == 204
    assert actions(target_id=execution_id) == ["execution.create", "execution.kill", "execution.labels",
                                               "execution.delete"]
    labels = AuditEvent.objects.get(action="execution.labels")
    assert {"key": "team", "value": "a"} in labels.after["labels"]


@pytest.mark.django_db
def test_changes_without_an_actor_are_not_audited(root: Any) -> None:
    flow_services.create_flow(root, FLOW.format(ns="acme", msg="hi"))
    row = ex_services.create_execution("acme", "hello")  # a trigger or the engine: no request, no user
    assert not AuditEvent.objects.filter(target_id=row.id).exists()
    assert record(None, "x.y", namespace="acme", target_type="t", target_id="1") is None


@pytest.mark.django_db
def test_tokens_and_secrets_are_recorded_without_values(root: Any, root_api: APIClient, client: Any) -> None:
    client.force_login(root)
    client.post("/account/tokens/", {"name": "ci"})
    token_id = root.api_tokens.get(name="ci").pk
    client.post("/account/tokens/", {"revoke": token_id})
    root_api.put("/api/v1/namespaces/acme/secrets", {"key": "PW", "value": "never-in-audit"}, format="json")
    root_api.put("/api/v1/namespaces/acme/secrets/PW", {"value": "still-never"}, format="json")
    root_api.delete("/api/v1/namespaces/acme/secrets/PW")
    assert actions(target_type="token", target_id=str(token_id)) == ["token.create", "token.revoke"]
    assert actions(target_type="secret") == ["secret.create", "secret.update", "secret.delete"]
    dump = str(list(AuditEvent.objects.values("before", "after")))
    assert "never-in-audit" not in dump and "still-never" not in dump


@pytest.fixture
def events(root: Any, writer: Any) -> None:
    for namespace, actor, action in [("prod", root, "flow.create"), ("prod.x", writer, "flow.update"),
                                     ("prodx", root, "secret.create"), ("dev", writer, "execution.kill")]:
        record(actor, action, namespace=namespace, target_type="flow", target_id=f"{namespace}.f")
    record(writer, "token.create", namespace=None, target_type="token", target_id="7")
    record(root, "token.create", namespace=None, target_type="token", target_id="8")


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "expected"), [
    ("namespace=prod", {"prod.f", "prod.x.f"}),
    ("namespace=prod.x", {"prod.x.f"}),
    ("user=wes", {"prod.x.f", "dev.f", "7"}),
    ("action=flow.", {"prod.f", "prod.x.f"}),
    ("action=secret.create", {"prodx.f"}),
    ("user=root&namespace=prod", {"prod.f"}),
], ids=["ns-prefix", "ns-child", "user", "action-prefix", "action", "combined"])
def test_filters(root_api: APIClient, events: None, query: str, expected: set[str]) -> None:
    response = root_api.get(f"/api/v1/audit?{query}")
    assert response.status_code == 200, response.json()
    assert {e["target"]["id"] for e in response.json()["results"]} == expected


@pytest.mark.django_db
def test_date_filters_and_paging(root_api: APIClient, events: None) -> None:
    AuditEvent.objects.filter(namespace="dev").update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    everything = AuditEvent.objects.count()  # the fixture's events and root_api's token
    recent = root_api.get(f"/api/v1/audit?after={since}").json()
    assert recent["total"] == everything - 1 and "dev.f" not in {e["target"]["id"] for e in recent["results"]}
    old = root_api.get(f"/api/v1/audit?before={since}").json()
    assert [e["target"]["id"] for e in old["results"]] == ["dev.f"]
    first = root_api.get("/api/v1/audit?size=4&page=1").json()
    second = root_api.get("/api/v1/audit?size=4&page=2").json()
    assert first["total"] == second["total"] == everything
    assert len(first["results"]) == 4 and len(second["results"]) == everything - 4
    assert not {e["id"] for e in first["results"]} & {e["id"] for e in second["results"]}


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "needle"), [
    ("after=yesterday", "'after'"), ("before=2026-13-40", "'before'"), ("size=0", "size"),
    ("sort=id;DROP TABLE x", "unknown query parameter"),
], ids=["bad-after", "bad-before", "bad-size", "unknown-param"])
def test_bad_filters_are_400(root_api: APIClient, query: str, needle: str) -> None:
    response = root_api.get(f"/api/v1/audit?{query}")
    assert response.status_code == 400 and needle in response.json()["message"]


@pytest.mark.django_db
def test_readers_see_only_namespaces_they_may_read(root: Any, writer: Any, outsider: Any, events: None) -> None:
    assert readable_events(root).count() == AuditEvent.objects.count()  # a superuser reads everything
    for user in (writer, outsider):
        seen = {(e.namespace, e.target_id) for e in readable_events(user)}
        expected = {(e.namespace, e.target_id) for e in AuditEvent.objects.exclude(namespace="")
                    if can(user, Action.READ, e.namespace)}
        expected |= {("", e.target_id) for e in AuditEvent.objects.filter(namespace="", actor=user)}
        assert seen == expected
        assert ("", "8") not in seen  # another user's token events stay theirs
    assert client_for(outsider).get("/api/v1/audit").json()["total"] == len(
        [e for e in readable_events(outsider)])


@pytest.mark.django_db
def test_anonymous_callers_get_401(anon: APIClient) -> None:
    assert anon.get("/api/v1/audit").status_code == 401


@pytest.mark.django_db
def test_the_page_filters_and_escapes(client: Any, root: Any, events: None) -> None:
    record(root, "flow.create", namespace="prod", target_type="flow", target_id="<img src=x onerror=window.__xss=1>")
    client.force_login(root)
    page = client.get("/audit/?namespace=prod")
    assert page.status_code == 200
    text = page.content.decode()
    assert "prod.x.f" in text and "prodx.f" not in text and "dev.f" not in text
    assert "<img src=x" not in text and "&lt;img src=x" in text
    bad = client.get("/audit/?after=nonsense")
    assert bad.status_code == 400 and "&#x27;after&#x27;" in bad.content.decode()
