"""Slack and Teams incoming webhooks (PLUGINS.md §8): the payload is posted verbatim as JSON.

Every post goes through `sdk.http_send`, so the egress policy applies to webhook URLs too.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

import httpx

from apps.plugins.sdk import (
    DynInt,
    EgressDenied,
    Plugin,
    Properties,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    dynamic,
    http_call,
    http_send,
    parse_duration,
)

SLACK = "io.kestra.plugin.notifications.slack"
TEAMS = "io.kestra.plugin.notifications.teams"
TERMINATED = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED"}
COLOURS = {"SUCCESS": "good", "WARNING": "warning"}


class WebhookOptions(Properties):
    connectTimeout: str | None = dynamic(None, description="Time allowed to connect (ISO-8601).")
    readTimeout: str = dynamic("PT10S", description="Time allowed to read the response.")
    readIdleTimeout: str = dynamic("PT5M", description="Idle time allowed while reading.")
    connectionPoolIdleTimeout: str | None = dynamic(None, description="Idle time of a pooled connection.")
    maxContentLength: DynInt = dynamic(10 * 1024 * 1024, description="Largest response read.")
    defaultCharset: str = dynamic("UTF-8", description="Charset of the payload.")


class WebhookProperties(TaskProperties):
    url: str = dynamic(description="The incoming-webhook URL.")
    payload: str | None = dynamic(None, description="JSON text, posted verbatim.")
    options: WebhookOptions | None = dynamic(None, description="HTTP timeouts.")


def post(ctx: RunContext, url: str, payload: str, options: WebhookOptions | None) -> None:
    """POST `payload` as `application/json`; a status ≥ 400 fails the task."""
    charset = options.defaultCharset if options else "UTF-8"
    call = http_call(method="POST", url=url, content=payload.encode(charset),
                     headers={"Content-Type": "application/json"},
                     connect_timeout=parse_duration(options.connectTimeout) if options and options.connectTimeout
                     else 10.0,
                     read_timeout=parse_duration(options.readTimeout) if options else 10.0)
    try:
        with http_send(call) as (response, _url):
            response.read()
            if response.status_code >= 400:
                raise TaskFailed(f"The webhook answered {response.status_code}: {response.text[:300]}")
    except EgressDenied as error:
        raise TaskFailed(str(error)) from error
    except httpx.HTTPError as error:
        raise TaskFailed(f"Posting to the webhook failed: {error}") from error
    ctx.log("INFO", "Notification sent")


class SlackIncomingWebhook(RunnableTask):
    """Send a message to a Slack incoming webhook.

    `payload` is JSON text (Slack's `text`, `blocks`, …), posted as is, so Rocket.Chat and other
    Slack-compatible hooks work too. A response status ≥ 400 fails the task.
    """

    type = f"{SLACK}.SlackIncomingWebhook"
    title = "Slack incoming webhook"
    group = SLACK
    icon = "bell"
    examples = (
        """\
id: slack
namespace: company.team
tasks:
  - id: notify
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK') }}"
    payload: |
      {"text": "Flow {{ flow.id }} finished: {{ execution.id }}"}
""",
    )

    class Properties(WebhookProperties):
        pass

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        if props.payload is None:
            raise TaskFailed("`payload` is required: the JSON message to post")
        post(ctx, props.url, props.payload, props.options)


def _human(seconds: float) -> str:
    seconds = round(seconds)
    parts = [(seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    text = " ".join(f"{n}{unit}" for n, unit in parts if n)
    return text or "0s"


def _duration(summary: dict[str, Any]) -> float:
    try:
        start = datetime.fromisoformat(str(summary["startDate"]).replace("Z", "+00:00"))
        end_text = summary.get("endDate")
        end = datetime.fromisoformat(str(end_text).replace("Z", "+00:00")) if end_text else datetime.now(start.tzinfo)
        return max((end - start).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return 0.0


def wait_for(ctx: RunContext, execution_id: str | None) -> dict[str, Any]:
    """The execution's summary; another execution is awaited (backoff, up to 10 minutes) until it ends."""
    waited, delay = 0.0, 1.0
    while True:
        summary: dict[str, Any] = ctx.host().execution_summary(execution_id)
        if summary["id"] == ctx.execution_id or summary["state"] in TERMINATED or waited >= 600:
            return summary
        ctx.sleep(delay)
        waited += delay
        delay = min(delay * 2, 30.0)


def execution_message(summary: dict[str, Any], custom_message: str | None, custom_fields: dict[str, Any] | None,
                      channel: str | None, username: str | None, icon_url: str | None,
                      icon_emoji: str | None) -> dict[str, Any]:
    """Kestra's SlackExecution template: text, blocks and one coloured attachment."""
    state = summary["state"]
    failed = next((r["taskId"] for r in summary["taskRuns"] if r["state"] == "FAILED"), None)
    last = summary["taskRuns"][-1]["taskId"] if summary["taskRuns"] else None
    outcome = f"> Failed on task `{failed}`" if failed else "> Succeeded"
    headline = f"*[{summary['namespace']}] {summary['flowId']} ➛ {state}*"
    text = f"{headline}\n{outcome} after {_human(_duration(summary))}"
    blocks: list[dict[str, Any]] = []
    if custom_message:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": custom_message}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    fields = [{"title": "Namespace", "value": summary["namespace"], "short": True},
              {"title": "Flow ID", "value": summary["flowId"], "short": True},
              {"title": "Execution ID", "value": summary["id"], "short": True},
              {"title": "Execution Status", "value": state, "short": True}]
    fields += [{"title": str(k), "value": str(v), "short": True} for k, v in (custom_fields or {}).items()]
    if last:
        fields.append({"title": "Final task ID", "value": last, "short": True})
    attachment: dict[str, Any] = {"color": COLOURS.get(state, "danger"), "fields": fields}
    with contextlib.suppress(TypeError, ValueError):
        attachment["ts"] = int(datetime.fromisoformat(str(summary["startDate"]).replace("Z", "+00:00")).timestamp())
    message: dict[str, Any] = {"text": text, "blocks": blocks, "attachments": [attachment]}
    for key, value in (("channel", channel), ("username", username), ("icon_url", icon_url),
                       ("icon_emoji", icon_emoji)):
        if value:
            message[key] = value
    return message


class SlackExecution(RunnableTask):
    """Send an execution's summary to a Slack incoming webhook.

    Use it in a flow's `errors` branch, or in a flow triggered by other executions' ends (a Flow
    trigger on FAILED) with `executionId: "{{ trigger.executionId }}"`; another execution is
    awaited until it ends. The message names the namespace, flow, state, the failed task and the
    duration, plus `customMessage` and `customFields`.
    """

    type = f"{SLACK}.SlackExecution"
    title = "Slack execution summary"
    group = SLACK
    icon = "bell"
    examples = (
        """\
id: failure_alert
namespace: company.monitoring
tasks:
  - id: notify
    type: io.kestra.plugin.notifications.slack.SlackExecution
    url: "{{ secret('SLACK_WEBHOOK') }}"
    channel: "#alerts"
    executionId: "{{ trigger.executionId }}"
    customMessage: A production flow failed
triggers:
  - id: on_failure
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [FAILED, WARNING]
""",
    )

    class Properties(WebhookProperties):
        channel: str | None = dynamic(None, description="Channel to post to.")
        username: str | None = dynamic(None, description="Author name.")
        iconUrl: str | None = dynamic(None, description="Author icon URL.")
        iconEmoji: str | None = dynamic(None, description="Author emoji.")
        executionId: str = dynamic("{{ execution.id }}", description="The execution to report.")
        customMessage: str | None = dynamic(None, description="Extra text at the top.")
        customFields: dict[str, Any] | None = dynamic(None, description="Extra attachment fields.")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        summary = wait_for(ctx, props.executionId or None)
        message = execution_message(summary, props.customMessage, props.customFields, props.channel,
                                    props.username, props.iconUrl, props.iconEmoji)
        post(ctx, props.url, json.dumps(message, ensure_ascii=False), props.options)


class TeamsIncomingWebhook(RunnableTask):
    """Send a message to a Microsoft Teams incoming webhook (the payload is posted as is)."""

    type = f"{TEAMS}.TeamsIncomingWebhook"
    title = "Teams incoming webhook"
    group = TEAMS
    icon = "bell"
    examples = (
        """\
id: teams
namespace: company.team
tasks:
  - id: notify
    type: io.kestra.plugin.notifications.teams.TeamsIncomingWebhook
    url: "{{ secret('TEAMS_WEBHOOK') }}"
    payload: '{"text": "Load done: {{ execution.id }}"}'
""",
    )

    class Properties(WebhookProperties):
        pass

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        if props.payload is None:
            raise TaskFailed("`payload` is required: the JSON message to post")
        post(ctx, props.url, props.payload, props.options)


PLUGINS: list[type[Plugin]] = [SlackIncomingWebhook, SlackExecution, TeamsIncomingWebhook]
