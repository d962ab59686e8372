"""SSE follow streams against a server whose HTTP thread pool is smaller than the streams open.

A follow stream lasts as long as its execution. Served from the web server's thread pool, each
open stream would hold a thread, and with `WEIR_WEB_THREADS` streams open every other request
would wait for one to end. They are served by Django's ASGI handler instead (config/asgi.py,
docs/adr/0025), so here four streams stay open on a two-thread server while ordinary calls are
answered, and each stream still reports the execution's end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.kestra.conftest import TENANT
from tests.kestra.test_kestrapy import NS, SLOW, _flow, _state, _wait_state

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 2
STREAMS = 4


@pytest.fixture
def web_threads() -> int:
    return THREADS


@pytest.fixture
def patient(asgi_server: Any, token: str) -> Iterator[Any]:
    """A client whose calls give up after 20 s: a call stuck behind busy threads fails the test."""
    from kestrapy import KestraClient

    with KestraClient(host=asgi_server.url, token=token, timeout=20) as client:
        yield client


def test_open_streams_leave_the_thread_pool_free(patient: Any) -> None:
    patient.flows.create_flow(TENANT, SLOW)
    running = patient.executions.create_execution(TENANT, NS, "slow")
    _wait_state(patient, running.id, "RUNNING")

    streams = [patient.executions.follow_execution(running.id, TENANT) for _ in range(STREAMS - 1)]
    streams.append(patient.logs.follow_logs_from_execution(running.id, TENANT))
    firsts = [next(stream) for stream in streams[:-1]]  # each stream is being served
    assert {_state(event) for event in firsts} == {"RUNNING"}

    # STREAMS > THREADS streams are open: ordinary requests are still answered.
    assert [f.id for f in patient.flows.search_flows(TENANT).results] == ["slow"]
    assert _state(patient.executions.execution(running.id, TENANT)) == "RUNNING"

    patient.executions.kill_execution(running.id, TENANT)
    for stream in streams[:-1]:
        assert [_state(event) for event in stream][-1:] == ["KILLED"]
    logged = [line.message for line in streams[-1]]  # the log stream reports the kill and ends
    assert any("Kill requested" in message for message in logged), logged


def test_a_follow_ends_after_the_configured_bound(patient: Any, settings: Any) -> None:
    settings.WEIR_FOLLOW_MAX_SECONDS = 1
    patient.flows.create_flow(TENANT, SLOW)
    running = patient.executions.create_execution(TENANT, NS, "slow")
    _wait_state(patient, running.id, "RUNNING")
    _wait_napping(patient, running.id)  # else a worker taking `nap` while the stream is open is one more event
    states = [_state(event) for event in patient.executions.follow_execution(running.id, TENANT)]
    assert states == ["RUNNING"]  # the stream ended by itself, the execution did not
    assert _state(patient.executions.execution(running.id, TENANT)) == "RUNNING"


def _wait_napping(client: Any, execution_id: str, timeout: float = 30.0) -> None:
    """Until the slow flow's one task is RUNNING: the execution is RUNNING from its creation on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.executions.execution(execution_id, TENANT).task_run_list or []
        if any(run.task_id == "nap" and _state(run) == "RUNNING" for run in runs):
            return
        time.sleep(0.05)
    raise AssertionError(f"the task of {execution_id} never started")


def test_a_flow_named_follow_runs_and_its_execution_is_followed(patient: Any) -> None:
    patient.flows.create_flow(TENANT, _flow("follow", """\
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: followed
"""))
    created = patient.executions.create_execution(TENANT, NS, "follow")
    assert (created.namespace, created.flow_id) == (NS, "follow")
    assert [_state(e) for e in patient.executions.follow_execution(created.id, TENANT)][-1] == "SUCCESS"
    assert "followed" in [line.message for line in patient.logs.follow_logs_from_execution(created.id, TENANT)]



def test_follow_dependencies_streams_the_subflow_too(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, "id: child\nnamespace: acme.deps\ntasks:\n"
                                     "  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT0.5S\n")
    kestra.flows.create_flow(TENANT, "id: parent\nnamespace: acme.deps\ntasks:\n"
                                     "  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n"
                                     "    namespace: acme.deps\n    flowId: child\n    wait: true\n")
    parent = kestra.executions.create_execution(TENANT, "acme.deps", "parent")
    events = list(kestra.executions.follow_dependencies_execution(parent.id, TENANT, expand_all=True))
    flows = {event.flow_id for event in events}
    assert flows == {"parent", "child"}
    last = {event.flow_id: str(getattr(event.state.current, "value", event.state.current)) for event in events}
    assert last == {"parent": "SUCCESS", "child": "SUCCESS"}
    assert all(event.tenant_id == TENANT for event in events)
    only_child = list(kestra.executions.follow_dependencies_execution(parent.id, TENANT, destination_only=True))
    assert {event.flow_id for event in only_child} == {"child"}
