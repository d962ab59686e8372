"""Flows named like the executions API's action words can be executed and read (apps/executions/
api/dispatch.py), while the actions keep working on executions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.executions import services as ex_services
from apps.executions.api.dispatch import ACTIONS
from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.namespaces.models import Binding, Role

WORDS = sorted({*ACTIONS, "validate", "search", "trigger", "webhook", "eval", "metas", "daily"})


def _flow(word: str, namespace: str = "acme") -> str:
    return (f"id: {word}\nnamespace: {namespace}\ninputs:\n  - id: who\n    type: STRING\n    defaults: you\n"
            "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi {{ inputs.who }}\n")


@pytest.mark.django_db
@pytest.mark.parametrize("word", WORDS)
def test_a_flow_named_after_an_action_is_executed_validated_and_read(writer: Any, api: Any, word: str) -> None:
    flow_services.create_flow(writer, _flow(word))
    created = api.post(f"/api/v1/executions/acme/{word}", {"who": "me"}, format="multipart")
    assert created.status_code == 200, created.content
    row = Execution.objects.get(id=created.json()["id"])
    assert (row.namespace, row.flow_id, row.inputs) == ("acme", word, {"who": "me"})
    checked = api.post(f"/api/v1/executions/acme/{word}/validate", {"who": "x"}, format="multipart")
    assert checked.status_code == 200, checked.content
    assert api.get(f"/api/v1/flows/acme/{word}").json()["id"] == word
    assert api.get(f"/api/v1/flows/acme/{word}/revisions").status_code == 200
    assert api.get(f"/api/v1/flows/acme/{word}/graph").status_code == 200


@pytest.mark.django_db
def test_the_page_session_executes_them_too(writer: Any) -> None:
    flow_services.create_flow(writer, _flow("resume"))
    browser = Client()
    browser.force_login(writer)
    created = browser.post("/api/v1/executions/acme/resume", {})
    assert created.status_code == 200 and Execution.objects.get(id=created.json()["id"]).flow_id == "resume"


@pytest.mark.django_db(transaction=True)
def test_actions_still_reach_executions(writer: Any, api: Any, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        flow_services.create_flow(writer, _flow("f"))
        flow_services.create_flow(writer, _flow("restart"))  # does not capture the execution's action
        done = ex_services.wait(ex_services.create_execution("acme", "f").id, 60)
        assert api.get(f"/api/v1/executions/{done.id}/graph").status_code == 200
        labels = api.post(f"/api/v1/executions/{done.id}/labels", [{"key": "k", "value": "v"}], format="json")
        assert labels.status_code == 200, labels.content
        assert {"key": "k", "value": "v"} in Execution.objects.get(id=done.id).labels
        before = Execution.objects.count()
        assert api.post(f"/api/v1/executions/{done.id}/restart").status_code in (200, 409, 422)
        assert Execution.objects.filter(flow_id="restart").count() == 0 and Execution.objects.count() >= before
        # An unknown id is the action's 404, as before.
        missing = api.post("/api/v1/executions/nope/resume")
        assert missing.status_code == 404 and "nope" in missing.json()["message"]
    finally:
        app.conf.task_always_eager = False


@pytest.mark.django_db
def test_a_flow_the_caller_may_not_read_is_not_revealed(writer: Any, make_user: Callable[..., Any]) -> None:
    flow_services.create_flow(writer, _flow("resume", namespace="secret"))
    stranger = make_user("stranger")
    Binding.objects.create(user=stranger, namespace="mine", role=Role.OWNER)
    from rest_framework.test import APIClient

    from apps.accounts.services import create_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(stranger, 't').raw}")
    hidden = client.post("/api/v1/executions/secret/resume")
    absent = client.post("/api/v1/executions/secret2/resume")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["message"].replace("secret", "X") == absent.json()["message"].replace("secret2", "X")
    assert not Execution.objects.exists()
