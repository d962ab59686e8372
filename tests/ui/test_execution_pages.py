"""Execution pages: the list with its filters, one execution, the execute form; who sees what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from apps.executions import services as ex_services
from apps.executions.models import Execution
from apps.flows import services as flow_services
from apps.namespaces.permissions import Action, can

FLOW = """\
id: report
namespace: acme.sales
labels:
  team: sales
inputs:
  - id: region
    type: SELECT
    values: [eu, us]
    defaults: eu
  - id: rows
    type: INT
    required: false
    description: How many rows to read.
tasks:
  - id: start
    type: io.kestra.plugin.core.log.Log
    message: "Report for {{ inputs.region }}"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}-{{ inputs.region }}"
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful
"""


@pytest.fixture
def eager() -> Iterator[None]:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def finished(writer: Any, eager: None) -> Execution:
    """A real execution of a flow with a loop, run to its end in this thread."""
    flow_services.create_flow(writer, FLOW)
    row = ex_services.create_execution("acme.sales", "report", inputs={"region": "us"},
                                       labels=[{"key": "env", "value": "prod"}])
    done = ex_services.wait(row.id, 30)
    assert done.state == "SUCCESS", done.state
    return done


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_list_shows_executions_and_filters(finished: Execution, reader: Any) -> None:
    client = _as(reader)
    page = client.get("/executions/").content.decode()
    assert f"/executions/{finished.id}/" in page and "SUCCESS" in page and "report" in page
    assert "env" in page and "prod" in page  # the label chip; system labels are not shown
    assert "system.correlationId" not in page
    for query in ("namespace=acme", "state=SUCCESS", "labels=env:prod", "flowId=report"):
        assert f"/executions/{finished.id}/" in client.get(f"/executions/?{query}").content.decode(), query
    for query in ("namespace=acmex", "state=FAILED", "labels=env:dev"):
        assert "No executions match" in client.get(f"/executions/?{query}").content.decode(), query
    bad = client.get("/executions/?labels=nocolon")
    assert bad.status_code == 200 and "alert-error" in bad.content.decode()


@pytest.mark.django_db(transaction=True)
def test_detail_shows_header_task_runs_and_logs(finished: Execution, reader: Any) -> None:
    client = _as(reader)
    response = client.get(f"/executions/{finished.id}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "state-success" in page and "/flows/acme.sales/report/" in page
    for task_id in ("start", "each", "inner", "warn"):
        assert f'<span class="task-id">{task_id}</span>' in page
    assert "--depth: 1" in page  # the loop's children are indented under it
    assert "b-us" in page  # an output of the inner task
    assert "Report for us" in page and "careful" in page
    warn_only = client.get(f"/executions/{finished.id}/?level=WARN").content.decode()
    assert "careful" in warn_only and "Report for us" not in warn_only
    assert 'name="csrf-token"' in page


@pytest.mark.django_db
def test_execute_form_renders_the_inputs(writer: Any, reader: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    page = _as(reader).get("/flows/acme.sales/report/execute/").content.decode()
    assert 'name="region"' in page and '<option value="eu" selected>' in page
    assert 'name="rows"' in page and 'type="number"' in page and "How many rows to read." in page
    assert 'data-url="/api/v1/executions/acme.sales/report"' in page
    flow_page = _as(reader).get("/flows/acme.sales/report/").content.decode()
    assert "/flows/acme.sales/report/execute/" in flow_page


@pytest.mark.django_db
def test_unknown_execution_is_404_and_anonymous_goes_to_login(client: Client, reader: Any) -> None:
    assert _as(reader).get("/executions/nope/").status_code == 404
    assert _as(reader).get("/flows/acme.none/x/execute/").status_code == 404
    response = client.get("/executions/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_an_outsider_gets_404(writer: Any, outsider: Any) -> None:
    if can(outsider, Action.READ, "acme.sales"):
        pytest.skip("namespace roles are not enforced yet: every active user may read acme.sales")
    flow_services.create_flow(writer, FLOW)
    row = ex_services.create_execution("acme.sales", "report")
    client = _as(outsider)
    assert client.get(f"/executions/{row.id}/").status_code == 404
    assert client.get("/flows/acme.sales/report/execute/").status_code == 404
    assert f"/executions/{row.id}/" not in client.get("/executions/").content.decode()


@pytest.mark.django_db
def test_list_pages_through_many_executions(writer: Any, reader: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    made = [ex_services.create_execution("acme.sales", "report").id for _ in range(30)]
    client = _as(reader)
    first, second = client.get("/executions/").content.decode(), client.get("/executions/?page=2").content.decode()
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert made[-1] in first and made[0] in second  # newest first
    assert sum(f"/executions/{i}/" in first + second for i in made) == 30


@pytest.mark.django_db
def test_a_file_input_links_to_its_download(writer: Any, reader: Any, settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    flow_services.create_flow(writer, FLOW.replace("inputs:\n", "inputs:\n  - id: doc\n    type: FILE\n"))
    row = ex_services.create_execution("acme.sales", "report", inputs={"doc": b"abc"})
    page = _as(reader).get(f"/executions/{row.id}/").content.decode()
    assert f'href="/api/v1/executions/{row.id}/file?path=kestra%3A%2F%2F%2Facme%2Fsales%2Freport%2F' in page
