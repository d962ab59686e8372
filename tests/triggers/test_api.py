"""/api/v1/triggers… (KESTRA.md §7.6) and backfills (§4.7) on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.triggers import scheduler
from apps.triggers.models import TriggerState
from tests.triggers.conftest import schedule_flow

pytestmark = pytest.mark.django_db
KEY = {"namespace": "acme", "flowId": "nightly", "triggerId": "every"}


def as_user(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_search_and_flow_list_show_definition_and_state(api: APIClient, writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow(cron="0 9 * * MON-FRI",
                                                    extra="    timezone: Europe/Paris\n"))
    found = api.get("/api/v1/triggers/search", {"namespace": "acme"}).json()
    assert found["total"] == 1
    item = found["results"][0]
    assert item["abstractTrigger"]["cron"] == "0 9 * * MON-FRI"
    context = item["triggerContext"]
    assert context["description"] == "At 09:00, Monday through Friday (Europe/Paris)"
    assert context["nextExecutionDate"] and not context["disabled"] and context["backfill"] is None
    assert api.get("/api/v1/triggers/acme/nightly").json()["results"][0]["triggerContext"]["triggerId"] == "every"
    assert api.get("/api/v1/triggers/search", {"bogus": "1"}).status_code == 400


def test_disable_enable_and_permissions(api: APIClient, writer: Any, viewer: Any, outsider: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    assert as_user(viewer).put("/api/v1/triggers", {**KEY, "disabled": True}, format="json").status_code == 403
    assert as_user(outsider).put("/api/v1/triggers", {**KEY, "disabled": True}, format="json").status_code == 404
    assert as_user(outsider).get("/api/v1/triggers/acme/nightly").status_code == 404
    reply = api.put("/api/v1/triggers", {**KEY, "disabled": True}, format="json")
    assert reply.status_code == 200 and reply.json()["disabled"] and reply.json()["nextExecutionDate"] is None
    assert TriggerState.objects.get().disabled
    assert api.put("/api/v1/triggers", {**KEY, "triggerId": "nope", "disabled": True},
                   format="json").status_code == 404
    assert api.put("/api/v1/triggers", {"namespace": "acme"}, format="json").json()["message"].startswith(
        "the body needs flowId, triggerId")
    count = api.post("/api/v1/triggers/set-disabled/by-query?disabled=false&namespace=acme").json()["count"]
    assert count == 1 and not TriggerState.objects.get().disabled
    assert api.post("/api/v1/triggers/set-disabled/by-triggers?disabled=true", [KEY], format="json").json() == {
        "count": 1}
    assert TriggerState.objects.get().disabled


def test_preview_reads_the_cron_and_refuses_bad_input(api: APIClient) -> None:
    reply = api.post("/api/v1/triggers/preview", {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}, format="json")
    body = reply.json()
    assert body["description"] == "At 09:00, Monday through Friday (Europe/Paris)" and len(body["next"]) == 5
    assert all(n.endswith(("+01:00", "+02:00")) and "T09:00:00" in n for n in body["next"])
    for bad in ({"cron": "99 * * * *"}, {"cron": "* * * * * * *"}, {"cron": "* * * * *", "timezone": "Mars/Olympus"}):
        reply = api.post("/api/v1/triggers/preview", bad, format="json")
        assert reply.status_code == 422, bad
        assert reply.json()["message"]


def test_backfill_of_1000_slots_pausable_midway(api: APIClient, writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(minutes=999)
    reply = api.put("/api/v1/triggers", {**KEY, "backfill": {
        "start": start.isoformat(), "end": end.isoformat(), "inputs": {"day": "backfilled"},
        "labels": [{"key": "origin", "value": "backfill"}]}}, format="json")
    assert reply.status_code == 200, reply.content
    assert reply.json()["backfill"]["total"] == 1000 and reply.json()["backfill"]["progress"] == 0
    again = api.put("/api/v1/triggers", {**KEY, "backfill": {"start": start.isoformat()}}, format="json")
    assert again.status_code == 409
    for _ in range(3):
        scheduler.run_backfills(datetime.now(UTC))
    assert api.put("/api/v1/triggers/backfill/pause", KEY, format="json").json()["backfill"]["paused"]
    scheduler.run_backfills(datetime.now(UTC))
    paused_at = Execution.objects.count()
    assert paused_at == 300
    state = api.get("/api/v1/triggers/acme/nightly").json()["results"][0]["triggerContext"]
    assert state["backfill"]["progress"] == 30
    api.put("/api/v1/triggers/backfill/unpause", KEY, format="json")
    for _ in range(12):
        scheduler.run_backfills(datetime.now(UTC))
    rows = list(Execution.objects.all())
    dates = {r.trigger["variables"]["date"] for r in rows}
    assert len(rows) == 1000 and len(dates) == 1000
    assert min(dates) == start.isoformat() and max(dates) == end.isoformat()
    assert all(r.inputs == {"day": "backfilled"} for r in rows)
    assert all({"key": "origin", "value": "backfill"} in r.labels for r in rows)
    assert all({"key": "system.backfill", "value": "true"} in r.labels for r in rows)
    backfill = TriggerState.objects.get().backfill
    assert backfill is not None and backfill["done"] and backfill["created"] == 1000
    assert api.post("/api/v1/triggers/backfill/delete", KEY, format="json").json()["backfill"] is None


def test_backfill_refuses_bad_periods_and_inputs(api: APIClient, writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow().replace("      day: \"{{ trigger.date }}\"\n", "").replace(
        "    defaults: none\n", ""))  # `day` is required and the trigger gives none
    start = "2025-01-01T00:00:00+00:00"
    for body, words in (({"start": "yesterday"}, "ISO-8601"),
                        ({"start": start, "end": "2024-01-01T00:00:00Z"}, "after"),
                        ({"start": start, "end": "2026-01-01T00:00:00Z"}, "at most"),
                        ({"start": start, "end": "2025-01-01T01:00:00Z"}, "invalid inputs")):
        reply = api.put("/api/v1/triggers", {**KEY, "backfill": body}, format="json")
        assert reply.status_code == 422 and words in reply.json()["message"], reply.content
    assert api.put("/api/v1/triggers/backfill/pause", KEY, format="json").status_code == 409
