"""RELIABILITY.md §4 rows 20-23, 30 and 34 (rows 18-19 are secrets' tests; 28 and 39 are in
test_reliability_rows_more.py; 35-37, the WebSocket handshake, subscriptions and frames, are in
tests/live, which calls the same `can()`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.executions import services as ex_services
from apps.executions.models import Execution, LogLine, TaskRun
from apps.flows import services as flows
from apps.namespaces.models import Binding, Namespace, Role

FLOW = "id: f\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi {ns}\n"


@pytest.fixture
def eager() -> Iterator[None]:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def runs(eager: None, make_user: Callable[..., Any]) -> dict[str, Execution]:
    root = make_user("root", is_superuser=True)
    out = {}
    for ns in ("mine", "theirs"):
        flows.create_flow(root, FLOW.format(ns=ns))
        out[ns] = ex_services.wait(ex_services.create_execution(ns, "f").id, 30)
        assert out[ns].state == "SUCCESS"
    return out


@pytest.fixture
def me(make_user: Callable[..., Any]) -> APIClient:
    user = make_user("me")
    Binding.objects.create(user=user, namespace="mine", role=Role.OWNER)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_row20_an_execution_of_another_namespace_is_404_not_403(runs: dict[str, Execution], me: APIClient) -> None:
    theirs = runs["theirs"].id
    for url in (f"/api/v1/executions/{theirs}", f"/api/v1/logs/{theirs}", f"/api/v1/metrics/{theirs}",
                f"/api/v1/executions/{theirs}/graph"):
        response = me.get(url)
        assert response.status_code == 404 and theirs in response.json()["message"], url
    assert me.get("/api/v1/executions/does-not-exist").json()["message"].replace("does-not-exist", theirs) == \
        me.get(f"/api/v1/executions/{theirs}").json()["message"]  # no oracle: the same answer as a missing id


@pytest.mark.django_db(transaction=True)
def test_row21_a_foreign_task_run_in_the_body_mutates_nothing(runs: dict[str, Execution], me: APIClient) -> None:
    mine, theirs = runs["mine"], runs["theirs"]
    foreign = TaskRun.objects.get(execution_id=theirs.id)
    before = (foreign.state, foreign.attempts)
    response = me.post(f"/api/v1/executions/{mine.id}/state", {"taskRunId": foreign.id, "state": "FAILED"},
                       format="json")
    assert response.status_code == 404
    assert me.post(f"/api/v1/executions/{mine.id}/eval/{foreign.id}", "{{ 1 }}",
                   content_type="text/plain").status_code == 404
    foreign.refresh_from_db()
    assert (foreign.state, foreign.attempts) == before
    assert Execution.objects.get(id=theirs.id).state == "SUCCESS"


@pytest.mark.django_db(transaction=True)
def test_row22_ids_are_not_enumerable(runs: dict[str, Execution], me: APIClient) -> None:
    assert not runs["theirs"].id.isdigit() and len(runs["theirs"].id) >= 20
    assert all(me.get(f"/api/v1/logs/{n}").status_code == 404 for n in range(1, 60))
    assert LogLine.objects.filter(execution_id=runs["theirs"].id).exists()
    searched = me.get("/api/v1/logs/search").json()
    assert searched["total"] > 0 and all(line["namespace"] == "mine" for line in searched["results"])


@pytest.mark.django_db
@pytest.mark.parametrize(("bound", "target", "readable"), [
    ("prod", "prod", True), ("prod", "prod.evil", True), ("prod", "prodx", False), ("prod.team", "prod", False),
    ("prod.team", "prod.teamx", False), ("prod.team", "prod.team.a", True),
], ids=["self", "child", "prodx", "parent", "team-lookalike", "team-child"])
def test_row23_prefix_collisions(make_user: Callable[..., Any], bound: str, target: str, readable: bool) -> None:
    root = make_user("root", is_superuser=True)
    flows.create_flow(root, FLOW.format(ns=target))
    user = make_user("u")
    Binding.objects.create(user=user, namespace=bound, role=Role.WRITE)
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(f"/api/v1/flows/{target}/f").status_code == (200 if readable else 404)
    assert (client.get(f"/api/v1/flows/search?namespace={target}").json()["total"] == 1) is readable
    assert client.delete(f"/api/v1/flows/{target}/f").status_code == (204 if readable else 404)


@pytest.mark.django_db
def test_row30_a_namespace_description_is_rendered_inert(make_user: Callable[..., Any]) -> None:
    root = make_user("root", is_superuser=True)
    payload = "<img src=x onerror=window.__xss=1> [x](javascript:window.__xss=1) <script>window.__xss=1</script>"
    Namespace.objects.create(name="acme", description=payload)
    browser = Client()
    browser.force_login(root)
    page = browser.get("/namespaces/acme/").content.decode()
    assert "<img" not in page.split('class="prose"')[1].split("</div>")[0]
    assert "<script>window.__xss" not in page and 'href="javascript:' not in page
    tree = browser.get("/namespaces/").content.decode()
    assert "<img src=x" not in tree and "&lt;img src=x" in tree


@pytest.mark.django_db(transaction=True)
def test_row34_cross_site_posts_without_a_csrf_token_are_refused(runs: dict[str, Execution],
                                                                 make_user: Callable[..., Any]) -> None:
    owner = make_user("boss")
    Binding.objects.create(user=owner, namespace="mine", role=Role.OWNER)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    before = Execution.objects.count()
    assert browser.post("/api/v1/executions/mine/f", {}).status_code == 403
    assert browser.post("/api/v1/namespaces/mine/members", {"name": "boss", "role": "READ"},
                        content_type="application/json").status_code == 403
    assert browser.post("/namespaces/mine/members/", {"name": "boss", "role": "READ"}).status_code == 403
    assert browser.get("/api/v1/executions/trigger/mine/f").status_code == 405
    assert Execution.objects.count() == before
