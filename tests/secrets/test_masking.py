"""Secret masking (DESIGN.md §7; RELIABILITY.md §4 rows 18 and 19; docs/adr/0011).

The end-to-end test runs a real execution with the in-process (eager) worker. A canary secret
of the parent namespace is printed raw, base64, URL-encoded, JSON-escaped, split over two log
lines and split inside one message; a Fail task puts it in an error; a Return task outputs it.
Then the masking registry is emptied, as in a web process that never ran the task, and every
API response about the execution is searched for the canary in any of its forms.

The transformed-forms tests do the same with values computed from the canary and from a SECRET
input (reversed, upper/lower-cased, sliced, replaced, joined, concatenated, interpolated,
base64/URL-encoded after a transformation, JSON, jq, printed character by character, split
over two log lines, inside a render error and a task error, and through eval) and search logs,
task outputs, errors, API answers, the execution page, WebSocket frames and Django's error email.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from apps.executions.models import Execution, LogLine, TaskRun
from apps.flows import services as flow_services
from apps.secrets import masking as secrets_mask
from apps.secrets import services as secret_services
from apps.secrets.masking import MASK, mask, mask_value, remember

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


# ---------------------------------------------------------------------------------------------
# Values computed from a secret (taint tracking, docs/adr/0011)

TRANSFORMS = {
    "reversed": "secret('CANARY') | reverse",
    "upper": "secret('CANARY') | upper",
    "lower": "secret('CANARY') | lower",
    "capitalized": "secret('CANARY') | lower | capitalize",
    "title": "secret('CANARY') | title",
    "sliced": "secret('CANARY') | slice(2, 21)",
    "substring": "secret('CANARY') | substringAfter('/')",
    "replaced": "secret('CANARY') | replace({'canary': 'bird'})",
    "joined": "[secret('CANARY') | reverse, 'tail'] | join('-')",
    "split-joined": "secret('CANARY') | split('/') | join('|')",
    "concatenated": "'pre-' ~ (secret('CANARY') | reverse) ~ '-post'",
    "interpolated": '"in #{secret(\'CANARY\') | upper} ter"',
    "trimmed-method": "(' ' ~ secret('CANARY') ~ ' ').strip().swapcase()",
    "base64-reversed": "secret('CANARY') | reverse | base64encode",
    "url-reversed": "secret('CANARY') | reverse | urlencode",
    "json": "{'k': secret('CANARY') | reverse} | toJson",
    "jq": "{'k': secret('CANARY') | upper} | jq('.k') | first",
    "first-of-split": "secret('CANARY') | split('/') | last | reverse",
    "input-reversed": "inputs.token | reverse",
    "input-upper": "inputs.token | upper",
}
LOOPED = "{% for c in secret('CANARY') | reverse %}{{ c }}{% endfor %}"

TRANSFORMED = """\
id: transformed
namespace: canary.team
inputs:
  - id: token
    type: SECRET
tasks:
  - id: printer
    type: io.kestra.plugin.core.log.Log
    message: MESSAGES
  - id: broken
    type: io.kestra.plugin.core.log.Log
    allowFailure: true
    message: "{{ secret('CANARY') | reverse | number }}"
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('CANARY') | reverse }}|{{ secret('CANARY') | upper }}|{{ inputs.token | reverse }}"
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "cannot connect with {{ secret('CANARY') | lower | replace({'canary': 'bird'}) }}"
"""


class _Services:
    """The canary as a render service, to compute what each transformation prints."""

    def secret(self, name: str) -> str:
        return CANARY

    def mark_secret(self, value: str) -> None:
        pass


def derived_forms() -> dict[str, str]:
    """Every transformed value the flow prints, computed by the same engine (and its halves)."""
    from apps.engine.expressions import render
    from apps.engine.expressions.taint import Tainted

    context = {"inputs": {"token": Tainted(INPUT_SECRET)}}
    shown = {name: render("{{ " + expression + " }}", context, services=_Services())
             for name, expression in TRANSFORMS.items()}
    shown["looped"] = render(LOOPED, context, services=_Services())
    shown["lower-replaced"] = CANARY.lower().replace("canary", "bird")
    for name in ("reversed", "upper", "input-reversed"):
        value = shown[name]
        shown[f"{name}-first-half"], shown[f"{name}-second-half"] = value[:HALF], value[HALF:]
    assert shown["reversed"] == CANARY[::-1] and shown["looped"] == CANARY[::-1]
    assert all(len(value) >= 8 for value in shown.values()), shown
    return shown


def assert_no_derived(text: str, where: str) -> None:
    """Neither the canary's forms nor any transformed value, raw, HTML- or JSON-escaped (a page)."""
    assert_clean(text, where)
    for name, value in derived_forms().items():
        for form in {value, html.escape(value), html.escape(value, quote=False), json.dumps(value)[1:-1]}:
            assert form not in text, f"the {name} form of a secret leaked in {where}: {text[:800]}"


def _transformed_flow() -> str:
    messages = [f"{name} {{{{ {expression} }}}}" for name, expression in TRANSFORMS.items()]
    messages += [f"looped {LOOPED}", "{{ secret('CANARY') | reverse | slice(0, 12) }}",
                 "{{ secret('CANARY') | reverse | slice(12) }}",
                 # RELIABILITY.md §4 row 18's own forms, for the WebSocket test
                 "raw {{ secret('CANARY') }}", "b64 {{ secret('CANARY') | base64encode }}",
                 "url {{ secret('CANARY') | urlencode }}", "{{ secret('CANARY') | slice(0, 12) }}",
                 "{{ secret('CANARY') | slice(12) }}"]
    return TRANSFORMED.replace("MESSAGES", json.dumps(messages))


def _run_transformed(root: Any, root_api: Any) -> str:
    secret_services.set_secret(root, "canary", "CANARY", CANARY)
    flow_services.create_flow(root, _transformed_flow())
    created = root_api.post("/api/v1/executions/canary.team/transformed?wait=true", {"token": INPUT_SECRET},
                            format="json")
    assert created.status_code == 200, created.content
    assert_no_derived(created.content.decode(), "the create response")
    return str(created.json()["id"])


def test_the_engine_taints_every_transformation() -> None:
    """A render registers each printed value computed from the secret (the unit the flow relies on)."""
    from apps.engine.expressions import render
    from apps.engine.expressions.taint import Tainted

    class Recording(_Services):
        def __init__(self) -> None:
            self.marked: list[str] = []

        def mark_secret(self, value: str) -> None:
            self.marked.append(value)

    context = {"inputs": {"token": Tainted(INPUT_SECRET)}}
    for name, expression in {**TRANSFORMS, "looped": None}.items():
        services = Recording()
        source = LOOPED if expression is None else "{{ " + expression + " }}"
        shown = render(f"[{source}]", context, services=services)
        assert shown[1:-1] in services.marked, (name, shown, services.marked)
    untouched = Recording()
    assert render("{{ secret('CANARY') | length }} {{ 'plain' | upper }}", {}, services=untouched) == \
        f"{len(CANARY)} PLAIN"
    assert untouched.marked == [CANARY]


@pytest.mark.django_db(transaction=True)
def test_row18_transformed_secrets_never_reach_logs_outputs_errors_or_api_answers(
        root: Any, root_api: Any, eager: None, fresh_registry: None) -> None:
    execution_id = _run_transformed(root, root_api)
    row = Execution.objects.get(id=execution_id)
    assert row.state == "FAILED"
    messages = list(LogLine.objects.filter(execution_id=execution_id).values_list("message", flat=True))
    for message in messages:
        assert_no_derived(message, "a stored log line")
    for name in (*TRANSFORMS, "raw", "b64", "url"):
        assert f"{name} {MASK}" in messages, (name, messages)  # the whole value, one fixed-length mask
    assert f"looped {MASK}" in messages and messages.count(MASK) >= 2  # the two halves, one per line
    assert any("cannot connect with" in m and MASK in m for m in messages), messages
    assert any("not a valid number" in m and MASK in m for m in messages), messages  # a render error
    assert TaskRun.objects.get(execution_id=execution_id, task_id="broken").state == "WARNING"
    # the engine keeps the real values; what shows them masks them
    out = TaskRun.objects.get(execution_id=execution_id, task_id="out").outputs
    assert out == {"value": f"{CANARY[::-1]}|{CANARY.upper()}|{INPUT_SECRET[::-1]}"}

    secrets_mask.reset()  # a web process that never ran the task
    for url in (f"/api/v1/executions/{execution_id}", f"/api/v1/logs/{execution_id}",
                "/api/v1/logs/search?namespace=canary", "/api/v1/executions/search?namespace=canary",
                f"/api/v1/logs/{execution_id}/download", f"/api/v1/executions/{execution_id}/graph"):
        secrets_mask.reset()
        response = root_api.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert_no_derived(body.decode(), url)
    secrets_mask.reset()
    detail = root_api.get(f"/api/v1/executions/{execution_id}").json()
    outputs = {r["taskId"]: r["outputs"] for r in detail["taskRunList"]}
    assert outputs["out"] == {"value": f"{MASK}|{MASK}|{MASK}"}

    secrets_mask.reset()
    browser = Client()
    browser.force_login(root)
    page = browser.get(f"/executions/{execution_id}/")
    assert page.status_code == 200
    assert_no_derived(page.content.decode(), "the execution page")


@pytest.mark.django_db(transaction=True)
def test_eval_masks_what_it_computes_from_a_secret(root: Any, root_api: Any, eager: None,
                                                   fresh_registry: None) -> None:
    execution_id = _run_transformed(root, root_api)
    run = TaskRun.objects.get(execution_id=execution_id, task_id="printer")
    url = f"/api/v1/executions/{execution_id}/eval/{run.id}"
    secrets_mask.reset()
    for name, expression in TRANSFORMS.items():
        answer = root_api.generic("POST", url, "{{ " + expression + " }}", content_type="text/plain")
        assert answer.status_code == 200, answer.content
        assert answer.json() == {"result": MASK}, (name, answer.json())
        assert_no_derived(answer.content.decode(), f"eval of {name}")
    answer = root_api.generic("POST", url, "{{ secret('CANARY') | reverse | number }}", content_type="text/plain")
    assert answer.status_code == 200 and MASK in answer.json()["error"], answer.json()
    assert_no_derived(answer.content.decode(), "an eval error")
    plain = root_api.generic("POST", url, "{{ 'x' ~ (secret('CANARY') | length) }}", content_type="text/plain")
    assert plain.json() == {"result": f"x{len(CANARY)}"}


@pytest.mark.django_db(transaction=True)
def test_row19_a_secret_in_a_server_error_is_masked_in_the_log_and_the_admin_email(
        root: Any, root_api: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any,
        fresh_registry: None) -> None:
    """RELIABILITY.md §4 row 19: an unexpected exception whose message holds a secret (as a
    driver's error echoing a connection string would) reaches the log and Django's error email
    masked."""
    from django.core import mail

    from apps.executions.api import introspect

    settings.ADMINS = [("ops", "ops@example.com")]
    secret_services.set_secret(root, "canary", "CANARY", CANARY)
    flow_services.create_flow(root, LEAKY)
    row = Execution.objects.create(id="e" * 22, namespace="canary.team", flow_id="leaky", flow_revision=1,
                                   state="SUCCESS")

    def broken(row: Execution) -> dict[str, Any]:
        secrets_mask.remember(CANARY)  # the process read the secret to use it,
        secrets_mask.remember(CANARY[::-1])  # and a render registered what it computed from it
        raise RuntimeError(f"upstream said: bad token {CANARY[::-1]} / {CANARY}")

    monkeypatch.setattr(introspect, "graph", broken)
    root_api.raise_request_exception = False
    response = root_api.get(f"/api/v1/executions/{row.id}/graph")
    assert response.status_code == 500
    assert CANARY not in response.content.decode() and CANARY[::-1] not in response.content.decode()
    assert len(mail.outbox) == 1, "the admins were not told"
    email = mail.outbox[0]
    bodies = [email.subject, email.body, *(content for content, _ in getattr(email, "alternatives", []))]
    assert "upstream said" in email.body and MASK in email.body
    for body in bodies:
        assert CANARY not in body and CANARY[::-1] not in body
        assert json.dumps(CANARY)[1:-1] not in body and repr(CANARY)[1:-1] not in body
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert CANARY not in text and CANARY[::-1] not in text


CHILD = """\
id: child
namespace: canary.team
inputs:
  - id: value
    type: STRING
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.value }}"
"""
PARENT = """\
id: parent
namespace: canary.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: canary.team
    flowId: child
    wait: true
    inputs:
      value: "{{ secret('CANARY') | reverse }}"
"""


@pytest.mark.django_db(transaction=True)
def test_a_value_derived_in_a_parent_is_masked_in_its_subflow(root: Any, root_api: Any, eager: None,
                                                              fresh_registry: None) -> None:
    """The child received the value as a plain input; what the parent registered masks it."""
    secret_services.set_secret(root, "canary", "CANARY", CANARY)
    flow_services.create_flow(root, CHILD)
    flow_services.create_flow(root, PARENT)
    created = root_api.post("/api/v1/executions/canary.team/parent?wait=true", {}, format="json")
    assert created.status_code == 200 and created.json()["state"]["current"] == "SUCCESS", created.content
    child = Execution.objects.get(flow_id="child")
    assert TaskRun.objects.get(execution_id=child.id, task_id="echo").outputs == {"value": CANARY[::-1]}
    secrets_mask.reset()
    answer = root_api.get(f"/api/v1/executions/{child.id}")
    assert json.dumps(CANARY[::-1])[1:-1] not in answer.content.decode()
    assert answer.json()["inputs"]["value"] == MASK
    secrets_mask.reset()
    browser = Client()
    browser.force_login(root)
    page = browser.get(f"/executions/{child.id}/")
    assert page.status_code == 200
    for form in (CANARY[::-1], html.escape(CANARY[::-1]), json.dumps(CANARY[::-1])[1:-1]):
        assert form not in page.content.decode()
