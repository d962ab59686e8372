"""`io.kestra.plugin.core.http.Trigger` on the polling contract: a local HTTP server, the
response condition, the execution's `trigger.*`, and the egress policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer

from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.plugins import egress
from apps.triggers import polling, scheduler
from apps.triggers.models import TriggerState

pytestmark = pytest.mark.django_db


def flow(url: str, condition: str = "") -> str:
    extra = f"    responseCondition: \"{condition}\"\n" if condition else ""
    return f"""\
id: watcher
namespace: acme
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.body }}}}"
triggers:
  - id: poll
    type: io.kestra.plugin.core.http.Trigger
    uri: "{url}"
    headers:
      X-Flow: "{{{{ flow.id }}}}"
    interval: PT30S
{extra}"""


def evaluate() -> TriggerState:
    scheduler.tick(timezone.now())
    state = TriggerState.objects.get(trigger_id="poll")
    polling.evaluate(state.id, state.worker_id)
    state.refresh_from_db()
    return state


def test_a_matching_response_starts_an_execution(httpserver: HTTPServer, writer: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/status", headers={"X-Flow": "watcher"}).respond_with_json({"ready": True})
    flow_services.create_flow(writer, flow(httpserver.url_for("/status"),
                                           "{{ response.statusCode == 200 and fromJson(response.body).ready }}"))
    state = evaluate()
    assert state.last_error == ""
    [row] = Execution.objects.all()
    variables = row.trigger["variables"]
    assert variables["code"] == 200 and '"ready": true' in variables["body"]
    assert variables["uri"] == httpserver.url_for("/status")


def test_a_response_that_does_not_match_starts_nothing(httpserver: HTTPServer, writer: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/status").respond_with_data("down", status=503)
    flow_services.create_flow(writer, flow(httpserver.url_for("/status")))  # default: statusCode < 400
    state = evaluate()
    assert state.last_error == "" and not Execution.objects.exists()


def test_an_internal_address_is_refused_and_recorded(httpserver: HTTPServer, writer: Any) -> None:
    flow_services.create_flow(writer, flow(httpserver.url_for("/status")))  # loopback, not allowed
    state = evaluate()
    assert "not allowed" in state.last_error and not Execution.objects.exists()
    assert not state.disabled


def test_encrypt_body_passes_it_sealed(httpserver: HTTPServer, writer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/secret").respond_with_data("top secret body")
    flow_services.create_flow(writer, flow(httpserver.url_for("/secret")).replace(
        "    interval: PT30S\n", "    interval: PT30S\n    encryptBody: true\n"))
    evaluate()
    [row] = Execution.objects.all()
    variables = row.trigger["variables"]
    assert "body" not in variables and "top secret body" not in str(variables["encryptedBody"])
