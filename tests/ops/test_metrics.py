"""/metrics: the counters move after an execution (in this process, and in multiprocess mode
from a real worker process's files), the scrape-time gauges are there, and only superusers read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.faults import faultkit

FLOW = """\
id: metered
namespace: ops.metrics
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: two
"""
FAILING = """\
id: broken
namespace: ops.metrics
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: on purpose
"""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("metrics-root", "root@example.com", "pw")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def eager() -> Iterator[None]:
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def _run(user: Any, source: str) -> str:
    from apps.executions import services
    from apps.flows.services import save_flow

    saved = save_flow(user, source)
    row = services.create_execution(saved.flow.namespace, saved.flow.flow_id, inputs_mode="none")
    return str(services.wait(row.id, 60).state)


@pytest.mark.django_db(transaction=True)
def test_the_counters_move_after_executions(root: Any, eager: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    client = _client(root)
    before = scrape(client)
    assert _run(root, FLOW) == "SUCCESS"
    assert _run(root, FAILING) == "FAILED"
    after = scrape(client)

    ns = {"namespace": "ops.metrics"}
    moved = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    assert moved[("weir_executions_total", tuple(sorted({**ns, "flow": "metered", "state": "SUCCESS"}.items())))] == 1
    assert moved[("weir_executions_total", tuple(sorted({**ns, "flow": "broken", "state": "FAILED"}.items())))] == 1
    assert value(after, "weir_task_runs_total", **ns, flow="metered", state="SUCCESS") \
        - value(before, "weir_task_runs_total", **ns, flow="metered", state="SUCCESS") == 2
    assert value(after, "weir_task_runs_total", **ns, flow="broken", state="FAILED") \
        - value(before, "weir_task_runs_total", **ns, flow="broken", state="FAILED") == 1
    assert value(after, "weir_task_run_duration_seconds_count", **ns, flow="metered") \
        - value(before, "weir_task_run_duration_seconds_count", **ns, flow="metered") == 2
    assert value(after, "weir_execution_duration_seconds_count", **ns, flow="metered") \
        - value(before, "weir_execution_duration_seconds_count", **ns, flow="metered") == 1
    assert value(after, "weir_log_lines_total", level="INFO") - value(before, "weir_log_lines_total", level="INFO") >= 2
    # scrape-time gauges
    assert ("weir_scheduler_lag_seconds", ()) in after
    assert value(after, "weir_scrape_errors", source="database") == 0


@pytest.mark.django_db(transaction=True)
def test_only_superusers_read_metrics(root: Any, django_user_model: Any) -> None:
    from tests.conftest import bind

    assert Client().get("/metrics").status_code == 401
    owner = bind(django_user_model.objects.create_user("own", password="pw"), "OWNER")
    response = _client(owner).get("/metrics")
    assert response.status_code == 403
    assert b"superusers" in response.content


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_multiprocess_mode_adds_up_a_worker_process(root: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A real Celery worker writes its counters to PROMETHEUS_MULTIPROC_DIR; /metrics reads them."""
    from apps.executions import census

    metrics_dir = tmp_path / "prom"
    faultkit.flush_broker()
    census.forget()
    worker = faultkit.worker("metrics-worker", faultkit.service_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
                             tmp_path).start()
    try:
        worker.wait_ready()
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
        client = _client(root)
        before = scrape(client)
        faultkit.deploy(FLOW)
        [execution_id] = faultkit.submit("ops.metrics", "metered")
        assert faultkit.wait_terminal([execution_id], 60) == {execution_id: "SUCCESS"}, worker.log()[-2000:]
        after = scrape(client)
    finally:
        worker.stop()
    assert any(metrics_dir.glob("counter_*.db")), list(metrics_dir.iterdir())
    labels = {"namespace": "ops.metrics", "flow": "metered"}
    assert value(after, "weir_task_runs_total", **labels, state="SUCCESS") \
        - value(before, "weir_task_runs_total", **labels, state="SUCCESS") == 2
    assert value(after, "weir_executions_total", **labels, state="SUCCESS") \
        - value(before, "weir_executions_total", **labels, state="SUCCESS") == 1
    assert value(after, "weir_workers_alive") >= 1
    assert value(after, "weir_worker_processes", queue="weir.tasks") >= 2
