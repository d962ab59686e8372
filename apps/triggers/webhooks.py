"""Webhook triggers (KESTRA.md §4.4): an HTTP request to
`/api/v1/executions/webhook/{namespace}/{flowId}/{key}` starts the flow.

The URL needs no login, so the key is the only credential (RELIABILITY.md §3.2): keys are compared
in constant time, and an unknown flow, an unknown or disabled trigger and a wrong key all raise the
same `WebhookNotFound`, so the answer tells a guesser nothing. A disabled flow is only reported to
a caller who knows a valid key.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import Conflict, NotFound
from apps.engine.context import labels_map
from apps.engine.expressions import render
from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.flows import validation
from apps.flows.models import Flow
from apps.plugins.registry import registry
from apps.triggers import conditions
from apps.triggers.conditions import ConditionContext, Subject

log = logging.getLogger(__name__)

WEBHOOK_TRIGGER = "io.kestra.plugin.core.trigger.Webhook"
NOT_FOUND_MESSAGE = "Flow not found"
DROPPED_HEADERS = frozenset({"cookie"})
"""Never stored in trigger variables: a browser's session cookie is not the caller's payload."""


class WebhookNotFound(NotFound):
    """Unknown flow, no enabled Webhook trigger with that key: always the same message."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND_MESSAGE)


@dataclass
class WebhookRequest:
    namespace: str
    flow_id: str
    key: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, list[str]] = field(default_factory=dict)
    path: str = ""
    """What follows the key in the URL (`/webhook/{ns}/{flow}/{key}/orders/42` → `orders/42`)."""


def trigger(request: WebhookRequest) -> Execution | None:
    """Create the execution for a webhook call; None when the trigger's conditions are not met."""
    from apps.executions import services
    from apps.executions.runtime.runcontext import RenderServices

    flow = Flow.objects.filter(namespace=request.namespace, flow_id=request.flow_id, deleted=False).first()
    if flow is None:
        raise WebhookNotFound()
    data = validation.apply_plugin_defaults(flow_services.parsed(flow.source))
    identity = {"id": flow.flow_id, "namespace": flow.namespace, "revision": flow.revision, "tenantId": None}
    render_services = RenderServices(flow.namespace)
    webhook = _matching_trigger(data, request.key, identity, render_services)
    if webhook is None:
        raise WebhookNotFound()
    if flow.disabled:
        raise Conflict("Cannot execute a disabled flow")
    variables = {"body": parse_body(request.body), "headers": header_lists(request.headers),
                 "parameters": {str(k): [str(v) for v in vs] for k, vs in request.parameters.items()}}
    if request.path:  # a call on a sub-path: the flow sees which one (`{{ trigger.path }}`)
        variables["path"] = request.path
    flow_labels = services.labels_list(data.get("labels"))
    context_vars: dict[str, Any] = {
        "flow": identity, "trigger": variables, "labels": labels_map(flow_labels),
        "vars": dict(data.get("variables") or {}),
    }
    labels = _trigger_labels(webhook, context_vars, render_services)
    subject = Subject(namespace=flow.namespace, flow_id=flow.flow_id, state="CREATED",
                      labels=flow_labels + labels)
    ctx = ConditionContext(subject, context_vars, render_services)
    where = f"webhook '{webhook.get('id')}' of {flow.namespace}.{flow.flow_id}"
    if not conditions.all_valid(webhook.get("conditions"), ctx, where):
        return None
    return services.create_execution(
        flow.namespace, flow.flow_id, inputs_mode="none", labels=labels,
        trigger={"id": webhook.get("id"), "type": webhook.get("type"), "variables": variables})


def _matching_trigger(data: Mapping[str, Any], key: str, identity: dict[str, Any],
                      render_services: Any) -> Mapping[str, Any] | None:
    """The first enabled Webhook trigger whose rendered (trimmed) key equals `key`."""
    given = key.encode("utf-8")
    found = None
    for candidate in data.get("triggers") or []:
        if not isinstance(candidate, Mapping) or candidate.get("disabled"):
            continue
        if registry.canonical(str(candidate.get("type"))) != WEBHOOK_TRIGGER:
            continue
        try:
            expected = render(str(candidate.get("key") or ""), {"flow": identity},
                              services=render_services).strip()
        except Exception as error:  # as Kestra: a key that cannot render matches nothing
            log.warning("the key of webhook '%s' of %s.%s cannot be rendered: %s", candidate.get("id"),
                        identity["namespace"], identity["id"], error)
            continue
        if hmac.compare_digest(expected.encode("utf-8"), given) and expected and found is None:
            found = candidate
    return found


def parse_body(body: bytes | None) -> Any:
    """A JSON object or array decoded; anything else kept as text (as Kestra's tryMap/tryArray)."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return text
    return parsed if isinstance(parsed, dict | list) else text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def header_lists(headers: Mapping[str, str]) -> dict[str, list[str]]:
    return {str(k): [str(v)] for k, v in headers.items() if str(k).lower() not in DROPPED_HEADERS}


def _trigger_labels(webhook: Mapping[str, Any], context_vars: dict[str, Any],
                    render_services: Any) -> list[dict[str, Any]]:
    labels = []
    for key, value in conditions.labels_pairs(webhook.get("labels")):
        try:
            value = render(value, context_vars, services=render_services)
        except Exception as error:
            log.warning("label %s of webhook '%s' cannot be rendered: %s", key, webhook.get("id"), error)
        labels.append({"key": key, "value": value})
    return labels
