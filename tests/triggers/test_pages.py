"""The Triggers page and the flow page's Triggers tab (server-rendered)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.flows import services as flow_services
from apps.triggers.models import TriggerState
from tests.triggers.conftest import schedule_flow

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_page_lists_toggles_and_backfills(writer: Any) -> None:
    flow_services.create_flow(writer, schedule_flow(cron="0 9 * * MON-FRI", extra="    timezone: Europe/Paris\n"))
    client = logged_in(writer)
    page = client.get("/triggers/", {"namespace": "acme"}).content.decode()
    assert "At 09:00, Monday through Friday (Europe/Paris)" in page and 'aria-checked="true"' in page
    form = {"namespace": "acme", "flowId": "nightly", "triggerId": "every", "next": "/triggers/?namespace=acme"}
    reply = client.post("/triggers/", {**form, "action": "disable"})
    assert reply.status_code == 302 and reply["Location"] == "/triggers/?namespace=acme"
    assert TriggerState.objects.get().disabled
    assert 'aria-checked="false"' in client.get("/triggers/").content.decode()
    reply = client.post("/triggers/", {**form, "action": "backfill", "start": "2025-01-06T00:00:00Z",
                                       "end": "2025-01-10T23:00:00Z", "labels": "origin:page"}, follow=True)
    assert "Backfill of every started." in reply.content.decode()
    backfill = TriggerState.objects.get().backfill
    assert backfill is not None and backfill["total"] == 5 and backfill["labels"] == [
        {"key": "origin", "value": "page"}]
    assert "0/5" in client.get("/triggers/").content.decode()
    reply = client.post("/triggers/", {**form, "action": "backfill", "start": "soon"}, follow=True)
    assert "already has a backfill running" in reply.content.decode()


def test_flow_tab_and_permissions(writer: Any, viewer: Any, outsider: Any) -> None:
    flow_services.create_flow(writer, schedule_flow())
    tab = logged_in(viewer).get("/flows/acme/nightly/", {"tab": "triggers"}).content.decode()
    assert "Every minute (UTC)" in tab and "data-toggle" not in tab  # READ: no switch
    form = {"namespace": "acme", "flowId": "nightly", "triggerId": "every", "action": "disable"}
    assert logged_in(viewer).post("/triggers/", form).status_code == 403
    assert logged_in(outsider).post("/triggers/", form).status_code == 404
    assert "nightly" not in logged_in(outsider).get("/triggers/").content.decode()
    assert not TriggerState.objects.get().disabled
