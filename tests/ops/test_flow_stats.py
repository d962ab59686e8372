"""`/api/v1/stats/flows/timeline`: task durations and failure rates per flow and day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import bind

OK = """\
id: steady
namespace: stats.team
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: a
  - id: b
    type: io.kestra.plugin.core.log.Log
    message: b
"""
FLAKY = """\
id: flaky
namespace: stats.team
inputs:
  - id: fail
    type: BOOLEAN
tasks:
  - id: maybe
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.fail }}"
    errorMessage: failed on purpose
"""


@pytest.fixture
def eager() -> Iterator[None]:
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def _run(namespace: str, flow_id: str, **inputs: Any) -> str:
    from apps.executions import services

    row = services.create_execution(namespace, flow_id, inputs=inputs)
    return str(services.wait(row.id, 60).id)


@pytest.mark.django_db(transaction=True)
def test_durations_and_failure_rates_per_flow_and_day(eager: None, django_user_model: Any) -> None:
    from apps.executions.models import Execution, TaskRun
    from apps.flows.services import save_flow

    root = django_user_model.objects.create_superuser("stats-root", "r@example.com", "pw")
    save_flow(root, OK)
    save_flow(root, FLAKY)
    yesterday = [_run("stats.team", "flaky", fail=True), _run("stats.team", "flaky", fail=False)]
    today = [_run("stats.team", "flaky", fail=True), _run("stats.team", "steady"), _run("stats.team", "steady")]
    Execution.objects.filter(id__in=yesterday).update(created=timezone.now() - timedelta(days=1))
    # a known duration: every run of `steady` took 2.5 s
    for run in TaskRun.objects.filter(execution__flow_id="steady"):
        TaskRun.objects.filter(id=run.id).update(start_date="2026-01-01T00:00:00+00:00",
                                                 end_date="2026-01-01T00:00:02.500000+00:00")
    assert Execution.objects.filter(id__in=today + yesterday, state="FAILED").count() == 2

    reader = bind(django_user_model.objects.create_user("stats-reader", password="pw"), "READ", "stats")
    client = APIClient()
    client.force_authenticate(reader)
    response = client.get("/api/v1/stats/flows/timeline", {"namespace": "stats", "groupBy": "day"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["buckets"]) == 7 and body["flowCount"] == 2 and body["truncated"] is False
    flaky, steady = body["flows"]  # the busiest flow first
    assert (flaky["flowId"], flaky["executions"], steady["flowId"]) == ("flaky", 3, "steady")
    assert flaky["ended"][-2:] == [2, 1] and flaky["failed"][-2:] == [1, 1]
    assert flaky["failureRate"][-2:] == [0.5, 1.0]
    assert flaky["failureRate"][0] is None  # no execution that day: no rate, not 0
    assert steady["taskRuns"][-1] == 4
    assert steady["avgTaskSeconds"][-1] == 2.5 and steady["maxTaskSeconds"][-1] == 2.5
    assert steady["failureRate"][-1] == 0.0

    top = client.get("/api/v1/stats/flows/timeline", {"namespace": "stats", "top": "1"}).json()
    assert [f["flowId"] for f in top["flows"]] == ["flaky"] and top["flowCount"] == 2

    outsider = APIClient()
    outsider.force_authenticate(django_user_model.objects.create_user("stats-out", password="pw"))
    assert outsider.get("/api/v1/stats/flows/timeline").json()["flows"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "message"), [
    ({"groupBy": "week"}, "groupBy='week'"),
    ({"top": "0"}, "top must be between 1 and 50"),
    ({"top": "x"}, "top must be a whole number"),
    ({"startDate": "yesterday"}, "startDate must be an ISO-8601 date-time"),
    ({"colour": "red"}, "unknown query parameter(s): colour"),
])
def test_bad_parameters_are_named(query: dict[str, str], message: str, django_user_model: Any) -> None:
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("p", password="pw"))
    response = client.get("/api/v1/stats/flows/timeline", query)
    assert response.status_code == 400
    assert message in response.json()["message"]
