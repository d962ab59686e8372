"""The pages around the live views: the dashboard's aggregate API, the run form's dependsOn
state, and the props the islands get (no server thread needed: Django's test client)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.executions import services as ex_services
from apps.executions.models import Execution
from apps.flows import services as flow_services

pytestmark = pytest.mark.django_db

FLOW = """\
id: report
namespace: acme.stats
inputs:
  - id: region
    type: SELECT
    values: [eu, us]
    defaults: eu
  - id: country
    type: SELECT
    expression: "{{ inputs.region == 'eu' ? ['fr', 'de'] : ['ca', 'mx'] }}"
    dependsOn:
      inputs: [region]
  - id: detailed
    type: BOOLEAN
    defaults: false
  - id: depth
    type: INT
    required: false
    dependsOn:
      inputs: [detailed]
      condition: "{{ inputs.detailed == true }}"
tasks:
  - id: only
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def report(writer: Any) -> Any:
    return flow_services.create_flow(writer, FLOW)


def _execution(state: str, created_ago: timedelta) -> Execution:
    row = ex_services.create_execution("acme.stats", "report", inputs={"region": "eu", "country": "fr"},
                                       start=False)
    Execution.objects.filter(id=row.id).update(state=state, created=timezone.now() - created_ago)
    return row


def test_daily_stats_count_states_per_bucket_including_empty_ones(report: Any, writer: Any) -> None:
    _execution("SUCCESS", timedelta(0))
    _execution("SUCCESS", timedelta(0))
    _execution("FAILED", timedelta(days=2))
    end = timezone.now()
    body = {"namespace": "acme", "startDate": (end - timedelta(days=6)).isoformat(), "endDate": end.isoformat()}
    response = _as(writer).post("/api/v1/stats/executions/daily", body, content_type="application/json")
    assert response.status_code == 200, response.content
    buckets = response.json()
    assert len(buckets) == 7 and all(b["groupBy"] == "day" for b in buckets)
    assert buckets[-1]["executionCounts"] == {"SUCCESS": 2} and buckets[-1]["total"] == 2
    assert buckets[-3]["executionCounts"] == {"FAILED": 1}
    assert sum(b["total"] for b in buckets) == 3
    hourly = _as(writer).get("/api/v1/stats/executions/daily", {"groupBy": "hour", "namespace": "other"}).json()
    assert len(hourly) == 25 and sum(b["total"] for b in hourly) == 0


@pytest.mark.parametrize(("params", "fragment"), [
    ({"groupBy": "week"}, "groupBy"),
    ({"startDate": "yesterday"}, "startDate"),
    ({"startDate": "2020-01-01T00:00:00Z"}, "too many days"),
    ({"colour": "red"}, "unknown query parameter"),
], ids=["group", "date", "range", "unknown"])
def test_daily_stats_reject_bad_filters_with_a_reason(writer: Any, params: dict[str, str], fragment: str) -> None:
    response = _as(writer).get("/api/v1/stats/executions/daily", params)
    assert response.status_code == 400 and fragment in response.json()["message"]


def test_daily_stats_need_authentication(client: Client) -> None:
    assert client.get("/api/v1/stats/executions/daily").status_code in (401, 403)


def test_run_form_state_follows_depends_on(report: Any, writer: Any) -> None:
    url = "/flows/acme.stats/report/execute/form"
    client = _as(writer)

    def state(values: dict[str, Any]) -> dict[str, Any]:
        response = client.post(url, json.dumps(values), content_type="application/json")
        assert response.status_code == 200, response.content
        return {item["id"]: item for item in response.json()["inputs"]}

    first = state({})
    assert first["country"]["choices"] == ["fr", "de"] and first["depth"]["enabled"] is False
    second = state({"region": "us", "detailed": "true"})
    assert second["country"]["choices"] == ["ca", "mx"] and second["depth"]["enabled"] is True
    bad = client.post(url, "[1]", content_type="application/json")
    assert bad.status_code == 400 and "JSON object" in bad.json()["message"]
    assert client.post("/flows/acme.none/x/execute/form", "{}", content_type="application/json").status_code == 404


def test_pages_carry_their_island_props(report: Any, writer: Any) -> None:
    row = _execution("RUNNING", timedelta(0))
    client = _as(writer)
    detail = client.get(f"/executions/{row.id}/").content.decode()
    assert 'data-island="execution"' in detail and '"canExecute": true' in detail
    assert f'"/api/v1/executions/{row.id}/graph"' in detail and "data-execution-actions" in detail
    listing = client.get("/executions/?namespace=acme").content.decode()
    assert f'data-execution-id="{row.id}"' in listing and '"firstPage": true' in listing
    dashboard = client.get("/dashboard/?namespace=acme&range=24h")
    assert dashboard.status_code == 200 and '"groupBy": "hour"' in dashboard.content.decode()
    form = client.get("/flows/acme.stats/report/execute/").content.decode()
    assert '"dynamic": true' in form and "/flows/acme.stats/report/execute/form" in form
