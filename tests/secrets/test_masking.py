"""Secret masking (DESIGN.md §7; RELIABILITY.md §4 rows 18 and 19).

The end-to-end test runs a real execution with the in-process (eager) worker. A canary secret
of the parent namespace is printed raw, base64, URL-encoded, JSON-escaped, split over two log
lines and split inside one message; a Fail task puts it in an error; a Return task outputs it.
Then the masking registry is emptied, as in a web process that never ran the task, and every
API response about the execution is searched for the canary in any of its forms.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from apps.executions import secrets_mask
from apps.executions.models import Execution, LogLine, TaskRun
from apps.executions.secrets_mask import MASK, mask, mask_value, remember
from apps.flows import services as flow_services
from apps.secrets import services as secret_services

CANARY = 'Cx9"q\\Lm7/w+z~Tp#k 42!canary'
HALF = 12

LEAKY = """\
id: leaky
namespace: canary.team
inputs:
  - id: token
    type: SECRET
tasks:
  - id: printer
    type: io.kestra.plugin.core.log.Log
    message:
      - "raw {{ secret('CANARY') }}"
      - "b64 {{ secret('CANARY') | base64encode }}"
      - "url {{ secret('CANARY') | urlencode }}"
      - "json {{ secret('CANARY') | toJson }}"
      - "{{ secret('CANARY') | slice(0, 12) }}"
      - "{{ secret('CANARY') | slice(12) }}"
      - "inline {{ secret('CANARY') | slice(0, 9) }}\\n{{ secret('CANARY') | slice(9) }} end"
      - "input {{ inputs.token }}"
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('CANARY') }}|{{ inputs.token }}"
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "cannot connect with {{ secret('CANARY') }}"
"""
INPUT_SECRET = "in-put-Secret-77/value"


def forms(value: str) -> dict[str, str]:
    """What must never appear: the value, its encodings and both halves of a split."""
    return {
        "raw": value, "base64": base64.b64encode(value.encode()).decode(),
        "url": urllib.parse.quote(value, safe=""), "url_plus": urllib.parse.quote_plus(value),
        "json": json.dumps(value)[1:-1], "first_half": value[:HALF], "second_half": value[HALF:],
    }


def assert_clean(text: str, where: str) -> None:
    for secret in (CANARY, INPUT_SECRET):
        for name, form in forms(secret).items():
            assert form not in text, f"{name} form of a secret leaked in {where}: {text[:500]}"


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    secrets_mask.reset()
    yield
    secrets_mask.reset()


@pytest.fixture
def eager(settings: Any) -> Iterator[None]:
    from config.celery import app

    settings.WEIR_EXECUTION_WAIT_SECONDS = 30
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def root(make_user: Any) -> Any:
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture
def root_api(root: Any) -> Any:
    from rest_framework.test import APIClient

    from apps.accounts.services import create_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(root, 'tests').raw}")
    return client


# ---------------------------------------------------------------------------------------------
# mask() on its own


@pytest.mark.parametrize("shown", [
    CANARY, f"before {CANARY} after", base64.b64encode(CANARY.encode()).decode(),
    urllib.parse.quote(CANARY, safe=""), urllib.parse.quote_plus(CANARY), json.dumps({"k": CANARY}),
    CANARY.encode().hex(), CANARY[:5] + "\n" + CANARY[5:], CANARY[:HALF], CANARY[HALF:] + " tail",
], ids=["raw", "inside", "b64", "url", "url-plus", "json", "hex", "split-in-message", "first-half",
        "second-half"])
def test_every_form_is_masked(shown: str, fresh_registry: None) -> None:
    remember(CANARY)
    masked = mask(shown)
    assert MASK in masked
    for name, form in forms(CANARY).items():
        assert form not in masked, name


def test_the_mask_does_not_leak_the_length(fresh_registry: None) -> None:
    remember("short-secret")
    remember("a-much-longer-secret-value-here")
    assert mask("short-secret") == mask("a-much-longer-secret-value-here") == MASK


def test_a_multiline_secret_is_masked_line_by_line(fresh_registry: None) -> None:
    pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END KEY-----"
    remember(pem)
    printed = mask(f"key:\n{pem}\n")
    assert "MIIBOgIBAAJBAKj34GkxFhD9" not in printed
    assert mask("only the middle MIIBOgIBAAJBAKj34GkxFhD9 line") == f"only the middle {MASK} line"


def test_ordinary_text_is_left_alone(fresh_registry: None) -> None:
    remember(CANARY)
    text = "Hello world: 42 rows loaded in 0.3 s"
    assert mask(text) == text
    assert mask_value({"a": [text, 1, None]}) == {"a": [text, 1, None]}


def test_mask_value_masks_keys_and_nested_values(fresh_registry: None) -> None:
    remember(CANARY)
    assert mask_value({CANARY: [{"x": CANARY}], "n": 1}) == {MASK: [{"x": MASK}], "n": 1}


def test_sealed_envelopes_never_leave_as_ciphertext(db: None) -> None:
    from apps.secrets.sealing import seal

    sealed = seal("hidden-value")
    assert sealed.startswith(secrets_mask.SEALED_PREFIX) and "hidden-value" not in sealed
    assert mask_value({"inputs": {"token": sealed}}) == {"inputs": {"token": MASK}}


# ---------------------------------------------------------------------------------------------
# A real execution


@pytest.mark.django_db(transaction=True)
def test_a_canary_secret_never_reaches_logs_or_api_responses(root: Any, root_api: Any, eager: None,
                                                             fresh_registry: None) -> None:
    secret_services.set_secret(root, "canary", "CANARY", CANARY)
    flow_services.create_flow(root, LEAKY)
    created = root_api.post("/api/v1/executions/canary.team/leaky?wait=true", {"token": INPUT_SECRET},
                            format="json")
    assert created.status_code == 200, created.content
    execution_id = created.json()["id"]
    assert_clean(created.content.decode(), "the create response")
    assert created.json()["inputs"]["token"] == MASK

    row = Execution.objects.get(id=execution_id)
    assert row.state == "FAILED"
    messages = list(LogLine.objects.filter(execution_id=execution_id).values_list("message", flat=True))
    assert len(messages) >= 9, messages
    for message in messages:
        assert_clean(message, "a stored log line")
    assert any(m.startswith("cannot connect with") or "cannot connect with" in m for m in messages)
    assert f"raw {MASK}" in messages and f"input {MASK}" in messages
    # the engine keeps real values for later tasks (Kestra's semantics): outputs are masked when shown
    out = TaskRun.objects.get(execution_id=execution_id, task_id="out").outputs
    assert out == {"value": f"{CANARY}|{INPUT_SECRET}"}

    secrets_mask.reset()  # a web process that never ran the task
    for url in (f"/api/v1/executions/{execution_id}", f"/api/v1/logs/{execution_id}",
                "/api/v1/logs/search?namespace=canary", "/api/v1/executions/search?namespace=canary",
                f"/api/v1/logs/{execution_id}/download"):
        response = root_api.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert_clean(body.decode(), url)
    detail = root_api.get(f"/api/v1/executions/{execution_id}").json()
    outputs = {r["taskId"]: r["outputs"] for r in detail["taskRunList"]}
    assert outputs["out"] == {"value": f"{MASK}|{MASK}"}
    assert detail["inputs"]["token"] == MASK

    secrets_mask.reset()
    browser = Client()
    browser.force_login(root)
    page = browser.get(f"/executions/{execution_id}/")
    assert page.status_code == 200
    assert_clean(page.content.decode(), "the execution page")


@pytest.mark.django_db(transaction=True)
def test_a_secret_input_is_encrypted_at_rest(root: Any, root_api: Any, eager: None) -> None:
    flow_services.create_flow(root, LEAKY.replace("canary.team", "plain.team").replace(
        "secret('CANARY')", "'public'"))
    created = root_api.post("/api/v1/executions/plain.team/leaky?wait=true", {"token": INPUT_SECRET}, format="json")
    assert created.status_code == 200, created.content
    row = Execution.objects.get(id=created.json()["id"])
    stored = row.inputs["token"]
    assert stored.startswith(secrets_mask.SEALED_PREFIX) and INPUT_SECRET not in json.dumps(row.inputs)
    from apps.secrets.sealing import unseal

    assert unseal(stored) == INPUT_SECRET
    replay = root_api.post(f"/api/v1/executions/{row.id}/replay")
    assert replay.status_code == 200, replay.content
    assert Execution.objects.get(id=replay.json()["id"]).inputs["token"] == stored
