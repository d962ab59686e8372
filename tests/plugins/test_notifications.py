"""Notifications against local stand-ins: pytest-httpserver as the Slack/Teams webhook receiver,
aiosmtpd as the SMTP server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.plugins import egress
from tests.plugins.flowrun import eager, execute, root

__all__ = ["eager", "root"]

pytestmark = pytest.mark.django_db(transaction=True)
NS = "weir.notify"


@pytest.fixture
def receiver(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> tuple[HTTPServer, list[dict[str, Any]]]:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    posts: list[dict[str, Any]] = []

    def hook(request: Request) -> Response:
        posts.append({"path": request.path, "body": request.get_data(as_text=True),
                      "type": request.headers.get("Content-Type")})
        return Response("ok")

    httpserver.expect_request("/slack", method="POST").respond_with_handler(hook)
    httpserver.expect_request("/teams", method="POST").respond_with_handler(hook)
    httpserver.expect_request("/down", method="POST").respond_with_data("no such hook", status=404)
    return httpserver, posts


def test_incoming_webhooks_post_verbatim(receiver: tuple[HTTPServer, list[dict[str, Any]]], root: Any,
                                         eager: None) -> None:
    server, posts = receiver
    ran = execute(root, f"""\
        id: hooks
        namespace: {NS}
        tasks:
          - id: slack
            type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
            url: "{server.url_for('/slack')}"
            payload: '{{"text":  "done {{{{ flow.id }}}}"}}'
          - id: teams
            type: io.kestra.plugin.notifications.teams.TeamsIncomingWebhook
            url: "{server.url_for('/teams')}"
            payload: '{{"text": "teams {{{{ execution.id }}}}"}}'
          - id: down
            type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
            url: "{server.url_for('/down')}"
            payload: '{{}}'
        """)
    assert posts[0] == {"path": "/slack", "body": '{"text":  "done hooks"}', "type": "application/json"}
    assert json.loads(posts[1]["body"]) == {"text": f"teams {ran.row.id}"}
    assert ran.task_state("down") == "FAILED"
    assert any("404" in line for line in ran.logs("down"))


def test_slack_execution_in_errors_branch(receiver: tuple[HTTPServer, list[dict[str, Any]]], root: Any,
                                          eager: None) -> None:
    server, posts = receiver
    ran = execute(root, f"""\
        id: nightly
        namespace: {NS}
        tasks:
          - id: ok
            type: io.kestra.plugin.core.log.Log
            message: starting
          - id: boom
            type: io.kestra.plugin.core.execution.Fail
            errorMessage: the load broke
        errors:
          - id: alert
            type: io.kestra.plugin.notifications.slack.SlackExecution
            url: "{server.url_for('/slack')}"
            channel: "#alerts"
            customMessage: Nightly load failed
            customFields:
              env: prod
        """)
    assert ran.state == "FAILED"
    assert ran.task_state("alert") == "SUCCESS", ran.logs("alert")
    message = json.loads(posts[0]["body"])
    assert message["channel"] == "#alerts"
    assert message["text"].startswith(f"*[{NS}] nightly ➛ FAILED*\n> Failed on task `boom` after ")
    assert message["blocks"][0]["text"]["text"] == "Nightly load failed"
    attachment = message["attachments"][0]
    assert attachment["color"] == "danger"
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Execution ID"] == ran.row.id and fields["env"] == "prod" and fields["Namespace"] == NS


def test_webhook_to_metadata_address_is_refused(root: Any, eager: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(egress.ENV, raising=False)
    ran = execute(root, f"""\
        id: ssrf_hook
        namespace: {NS}
        tasks:
          - id: slack
            type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
            url: http://169.254.169.254/latest/meta-data/
            payload: '{{}}'
        """)
    assert ran.task_state("slack") == "FAILED"
    assert any("destination not allowed" in line for line in ran.logs("slack"))


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "message": message_from_bytes(envelope.content, policy=policy.default)})
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Inbox]]:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_mail_send(smtp: tuple[int, Inbox], httpserver: HTTPServer, root: Any, eager: None) -> None:
    port, inbox = smtp
    httpserver.expect_request("/report.csv").respond_with_data("a,b\n1,2\n")
    ran = execute(root, f"""\
        id: mailer
        namespace: {NS}
        tasks:
          - id: report
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/report.csv')}"
          - id: mail
            type: io.kestra.plugin.notifications.mail.MailSend
            host: 127.0.0.1
            port: {port}
            transportStrategy: SMTP
            from: etl@example.com
            to: "a@example.com; b@example.com"
            cc: c@example.com
            subject: "Report {{{{ flow.id }}}}"
            htmlTextContent: "<p>Rows: 2</p>"
            attachments:
              - uri: "{{{{ outputs.report.uri }}}}"
                name: report.csv
                contentType: text/csv
        """)
    assert ran.task_state("mail") == "SUCCESS", ran.logs("mail")
    sent = inbox.messages[0]
    assert sent["from"] == "etl@example.com"
    assert sent["to"] == ["a@example.com", "b@example.com", "c@example.com"]
    message = sent["message"]
    assert message["Subject"] == "Report mailer" and message["Return-Receipt-To"] == "etl@example.com"
    assert message.get_body(("html",)).get_content().strip() == "<p>Rows: 2</p>"
    assert "modern email client" in message.get_body(("plain",)).get_content()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "report.csv" and attachment.get_content() == "a,b\n1,2\n"


def test_mail_send_uses_instance_settings_and_fails_on_smtp_errors(smtp: tuple[int, Inbox], root: Any, eager: None,
                                                                  settings: Any) -> None:
    port, inbox = smtp
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.DEFAULT_FROM_EMAIL = "127.0.0.1", port, "weir@example.com"
    ran = execute(root, f"""\
        id: mailer_defaults
        namespace: {NS}
        tasks:
          - id: mail
            type: io.kestra.plugin.notifications.mail.MailSend
            to: ops@example.com
            subject: hello
          - id: closed
            type: io.kestra.plugin.notifications.mail.MailSend
            host: 127.0.0.1
            port: 1
            transportStrategy: SMTP
            from: x@example.com
            to: ops@example.com
        """)
    assert inbox.messages[0]["from"] == "weir@example.com"
    assert ran.task_state("closed") == "FAILED"
    assert any("Sending the email through 127.0.0.1:1 failed" in line for line in ran.logs("closed"))
