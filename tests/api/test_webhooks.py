"""Webhook triggers through HTTP (KESTRA.md §4.4, conformance webhook*.yaml): the trigger
variables an execution gets, the identical 404s, conditions (204), the body cap (413) and the
limit on failed look-ups (429). Celery runs eagerly, so a created execution has ended by the time
the response is read."""

from __future__ import annotations

import base64
import json
import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

NS = "io.kestra.tests"
URL = "/api/v1/executions/webhook/{ns}/{flow}/{key}"

WEBHOOK = f"""\
id: webhook
namespace: {NS}
labels:
  flow-label-1: flow-label-1
  flow-label-2: flow-label-2
tasks:
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{trigger | json }}}}"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: a-secret-key
    labels:
      from: webhook
"""

WITH_CONDITION = f"""\
id: webhook-with-condition
namespace: {NS}
tasks:
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger | json }}}}"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: webhookKey
    conditions:
      - type: io.kestra.plugin.core.condition.ExpressionCondition
        expression: "{{{{trigger.body.hello == 'world'}}}}"
"""


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    from django.core.cache import cache

    from apps.executions.runtime import runner
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    runner.clear_compiled()
    cache.clear()
    yield
    app.conf.task_always_eager = before
    runner.clear_compiled()
    cache.clear()


@pytest.fixture(autouse=True)
def routed(settings: Any) -> None:
    """Until apps.executions.api.urls routes the webhook, serve it from the view's own patterns."""
    from django.urls import include, path, resolve

    from apps.triggers.api import webhook_views

    match = resolve(URL.format(ns="a", flow="b", key="c"))
    if getattr(match.func, "view_class", None) is webhook_views.Webhook:
        return
    module = types.ModuleType("weir_test_webhook_urls")
    module.urlpatterns = [path("api/v1/", include(webhook_views.urlpatterns))]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def deploy(user: Any, source: str) -> None:
    from apps.flows.services import save_flow

    save_flow(user, textwrap.dedent(source))


def call(client: Any, method: str, flow: str, key: str, body: bytes | None = None,
         content_type: str = "application/json", query: str = "", ns: str = NS) -> Any:
    url = URL.format(ns=ns, flow=flow, key=key) + (f"?{query}" if query else "")
    return client.generic(method, url, body or b"", content_type=content_type)


def executions() -> int:
    from apps.executions.models import Execution

    return Execution.objects.count()


def trigger_of(response: Any) -> dict[str, Any]:
    """The trigger variables, as the API returned them and as the flow's task rendered them."""
    from apps.executions.models import TaskRun

    payload = response.json()
    rendered = dict(TaskRun.objects.get(execution_id=payload["id"], task_id="out").outputs or {})["value"]
    variables = dict(payload["trigger"]["variables"])
    assert json.loads(rendered) == {k: v for k, v in variables.items() if v is not None}  # `json` drops nulls
    return variables


def test_json_body_params_and_labels(anon: Any, root: Any) -> None:
    deploy(root, WEBHOOK)
    response = call(anon, "POST", "webhook", "a-secret-key", b'{"a": 1, "b": true}',
                    query="name=john&age=12&age=13")
    assert response.status_code == 200
    data = response.json()
    assert data["trigger"]["id"] == "webhook"
    assert data["trigger"]["type"] == "io.kestra.plugin.core.trigger.Webhook"
    variables = trigger_of(response)
    assert variables["body"] == {"a": 1, "b": True}
    assert variables["parameters"] == {"name": ["john"], "age": ["12", "13"]}
    assert variables["headers"]["Content-Type"] == ["application/json"]
    labels = [f"{lb['key']}={lb['value']}" for lb in data["labels"]]
    assert labels[:3] == ["flow-label-1=flow-label-1", "flow-label-2=flow-label-2", "from=webhook"]
    assert labels[3] == f"system.correlationId={data['id']}"

    from apps.executions.models import Execution

    assert Execution.objects.get(id=data["id"]).state == "SUCCESS"


@pytest.mark.parametrize(("method", "body", "content_type", "expected"), [
    ("PUT", b'[{"a": 1, "b": true}]', "application/json", [{"a": 1, "b": True}]),
    ("POST", b"bla", "text/plain", "bla"),
    ("GET", None, "application/json", None),
    ("POST", None, "application/json", None),
    ("POST", b'{\\"a\\": 1}', "application/json", '{\\"a\\": 1}'),
    ("POST", b'"{\\"a\\": 1}"', "application/json", '"{\\"a\\": 1}"'),
    ("POST", b"12", "application/json", "12"),
    ("POST", b'{"x": NaN}', "application/json", '{"x": NaN}'),
], ids=["list-body", "text-body", "get-no-body", "post-no-body", "escaped-json", "json-string", "json-number",
        "nan-is-not-json"])
def test_body_shapes(anon: Any, root: Any, method: str, body: bytes | None, content_type: str, expected: Any) -> None:
    deploy(root, WEBHOOK)
    response = call(anon, method, "webhook", "a-secret-key", body, content_type)
    assert response.status_code == 200
    assert trigger_of(response)["body"] == expected


def test_no_authentication_needed_and_cookies_not_kept(anon: Any, root: Any) -> None:
    deploy(root, WEBHOOK)
    anon.cookies["sessionid"] = "not-for-the-flow"
    response = call(anon, "POST", "webhook", "a-secret-key", b"{}")
    assert response.status_code == 200
    assert not any(k.lower() == "cookie" for k in response.json()["trigger"]["variables"]["headers"])


def test_wrong_key_and_unknown_flow_are_the_same_404(anon: Any, root: Any) -> None:
    deploy(root, WEBHOOK)
    wrong_key = call(anon, "POST", "webhook", "a-secret-kez", b"{}")
    unknown_flow = call(anon, "POST", "nope", "a-secret-key", b"{}")
    unknown_ns = call(anon, "POST", "webhook", "a-secret-key", b"{}", ns="io.kestra.nope")
    assert wrong_key.status_code == unknown_flow.status_code == unknown_ns.status_code == 404
    assert wrong_key.content == unknown_flow.content == unknown_ns.content
    assert wrong_key.json() == {"message": "Flow not found"}
    assert executions() == 0


def test_disabled_trigger_is_not_found_disabled_flow_conflicts(anon: Any, root: Any) -> None:
    deploy(root, WEBHOOK.replace("    key: a-secret-key\n", "    key: a-secret-key\n    disabled: true\n"))
    assert call(anon, "POST", "webhook", "a-secret-key").status_code == 404
    deploy(root, WEBHOOK + "disabled: true\n")
    assert call(anon, "POST", "webhook", "wrong").status_code == 404
    conflict = call(anon, "POST", "webhook", "a-secret-key")
    assert conflict.status_code == 409
    assert "disabled" in conflict.json()["message"]
    assert executions() == 0


def test_condition_false_is_204_without_execution(anon: Any, root: Any) -> None:
    deploy(root, WITH_CONDITION)
    refused = call(anon, "POST", "webhook-with-condition", "webhookKey", b'{"hello": "webhook"}')
    assert refused.status_code == 204
    assert refused.content == b""
    assert executions() == 0
    accepted = call(anon, "POST", "webhook-with-condition", "webhookKey", b'{"hello": "world"}')
    assert accepted.status_code == 200
    assert trigger_of(accepted)["body"] == {"hello": "world"}
    assert executions() == 1


@pytest.mark.parametrize(("condition", "created"), [
    ("type: io.kestra.plugin.core.condition.ExecutionFlow\n  namespace: io.kestra.tests\n  flowId: webhook", True),
    ("type: io.kestra.plugin.core.condition.ExecutionStatus\n  in: [SUCCESS]", False),
    ("type: io.kestra.plugin.core.condition.Not\n  conditions:\n    - type: io.kestra.plugin.core.condition.Expression\n"
     "      expression: \"{{ trigger.parameters.x[0] == 'y' }}\"", False),
    ("type: io.kestra.plugin.core.condition.Or\n  conditions:\n    - type: io.kestra.plugin.core.condition.Expression\n"
     "      expression: \"{{ false }}\"\n    - type: io.kestra.plugin.core.condition.ExecutionLabels\n"
     "      labels:\n        flow-label-1: flow-label-1", True),
    ("type: io.kestra.plugin.core.condition.DayWeek\n  date: \"2024-12-16T10:00:00Z\"\n  dayOfWeek: MONDAY", True),
    ("type: io.kestra.plugin.core.condition.Weekend\n  date: \"2024-12-16T10:00:00Z\"", False),
    ("type: io.kestra.plugin.core.condition.DayWeek\n  dayOfWeek: MONDAY", False),
    ("type: io.kestra.plugin.core.condition.Expression\n  expression: \"{{ trigger.nothing.here }}\"", False),
], ids=["execution-flow", "status-not-created", "not", "or-labels", "dayweek", "weekend", "no-trigger-date",
        "render-error"])
def test_core_conditions_on_a_webhook(anon: Any, root: Any, condition: str, created: bool) -> None:
    item = textwrap.indent("- " + condition, "      ")
    deploy(root, WEBHOOK + "    conditions:\n" + item + "\n")
    response = call(anon, "POST", "webhook", "a-secret-key", b"{}", query="x=y")
    assert response.status_code == (200 if created else 204)
    assert executions() == int(created)


def test_dynamic_and_secret_keys(anon: Any, root: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_WEBHOOK_KEY", base64.b64encode(b"secretKey").decode())
    deploy(root, WEBHOOK.replace("id: webhook\n", "id: webhook-dynamic-key\n", 1)
           .replace("key: a-secret-key", 'key: "{{ flow.id }}"'))
    deploy(root, WEBHOOK.replace("id: webhook\n", "id: webhook-secret-key\n", 1)
           .replace("key: a-secret-key", "key: \"{{ secret('WEBHOOK_KEY') }}\""))
    assert call(anon, "GET", "webhook-dynamic-key", "webhook-dynamic-key").status_code == 200
    assert call(anon, "GET", "webhook-dynamic-key", "{{ flow.id }}").status_code == 404
    assert call(anon, "GET", "webhook-secret-key", "secretKey").status_code == 200
    assert executions() == 2


def test_body_over_the_limit_is_413(anon: Any, root: Any, settings: Any) -> None:
    deploy(root, WEBHOOK)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = call(anon, "POST", "webhook", "a-secret-key", b'{"a": "' + b"x" * 200 + b'"}')
    assert response.status_code == 413
    assert executions() == 0
    assert call(anon, "POST", "webhook", "a-secret-key", b'{"a": 1}').status_code == 200


def test_repeated_misses_are_throttled(anon: Any, root: Any, settings: Any) -> None:
    deploy(root, WEBHOOK)
    settings.WEIR_WEBHOOK_MISS_LIMIT = 3
    assert [call(anon, "POST", "webhook", f"guess-{i}").status_code for i in range(4)] == [404, 404, 404, 429]
    assert call(anon, "POST", "webhook", "a-secret-key").status_code == 429
    assert executions() == 0
