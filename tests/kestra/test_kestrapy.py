"""Weir driven only through kestrapy 2.0.3, Kestra's official Python SDK, unchanged.

Every call goes over HTTP to a real server (tests/kestra/conftest.py) with the SDK's own paths
(`/api/v1/main/…`), search filters (`filters[field][OP]`), SSE streams and authentication
(bearer token, basic auth). Namespace files and triggers are exercised when their APIs are
served; otherwise their tests are skipped and say why.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.urls import Resolver404, resolve

from tests.kestra.conftest import TENANT

pytestmark = pytest.mark.django_db(transaction=True)

NS = "acme.kestra"
TERMINAL = {"SUCCESS", "FAILED", "KILLED", "WARNING", "CANCELLED"}


def _served(path: str) -> bool:
    """True when a route other than the API's catch-all answers `path`."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    from apps.core.api.views import UnknownEndpoint

    return getattr(match.func, "view_class", None) is not UnknownEndpoint


def _flow(flow_id: str, body: str) -> str:
    return f"id: {flow_id}\nnamespace: {NS}\n{body}"


GREET = _flow("greet", """\
inputs:
  - id: name
    type: STRING
  - id: times
    type: INT
    defaults: 1
  - id: payload
    type: JSON
    required: false
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.name }} x{{ inputs.times }}"
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.name | upper }}"
outputs:
  - id: shout
    type: STRING
    value: "{{ outputs.out.value }}"
""")
SLOW = _flow("slow", """\
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
""")
BROKEN = _flow("broken", """\
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "broken on purpose"
""")


def _state(execution: Any) -> str:
    state = execution.state
    current = getattr(state, "current", None) if not isinstance(state, dict) else state.get("current")
    return str(getattr(current, "value", current))


def _follow_to_end(kestra: Any, execution_id: str) -> list[str]:
    """The states the SSE stream reported, in order, until it ended by itself."""
    return [_state(event) for event in kestra.executions.follow_execution(execution_id, TENANT)]


def _wait_state(kestra: Any, execution_id: str, wanted: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = kestra.executions.execution(execution_id, TENANT)
        if _state(execution) == wanted:
            return execution
        time.sleep(0.1)
    raise AssertionError(f"{execution_id} never reached {wanted}: {_state(execution)}")


def test_flows_create_update_get_search_delete(kestra: Any) -> None:
    from kestrapy.exceptions import NotFoundException

    created = kestra.flows.create_flow(TENANT, GREET)
    assert (created.id, created.namespace, created.revision) == ("greet", NS, 1)

    updated = kestra.flows.update_flow(NS, "greet", TENANT, GREET.replace("x{{", "times {{"))
    assert updated.revision == 2
    got = kestra.flows.flow(NS, "greet", TENANT)
    assert "times {{" in got.source and got.revision == 2
    assert [r.revision for r in kestra.flows.list_flow_revisions(NS, "greet", TENANT)] == [1, 2]

    kestra.flows.create_flow(TENANT, SLOW.replace(NS, "acme.elsewhere"))
    page = kestra.flows.search_flows(TENANT, filters=[{"field": "namespace", "operation": "EQUALS", "value": NS}])
    assert [f.id for f in page.results] == ["greet"] and page.total == 1
    page = kestra.flows.search_flows(TENANT, filters=[{"field": "QUERY", "operation": "EQUALS", "value": "slow"}])
    assert [f.namespace for f in page.results] == ["acme.elsewhere"]

    kestra.flows.delete_flow(NS, "greet", TENANT)
    with pytest.raises(NotFoundException):
        kestra.flows.flow(NS, "greet", TENANT)


def test_execute_with_inputs_follow_and_logs(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, GREET)
    created = kestra.executions.create_execution(
        TENANT, NS, "greet", labels=["team:data"], inputs={"name": "ada", "times": 3, "payload": {"k": [1, 2]}})
    states = _follow_to_end(kestra, created.id)
    assert states[-1] == "SUCCESS" and "SUCCESS" not in states[:-1], states

    done = kestra.executions.execution(created.id, TENANT)
    assert done.inputs == {"name": "ada", "times": 3, "payload": {"k": [1, 2]}}
    assert done.additional_properties["outputs"] == {"shout": "ADA"}
    assert {(lb.key, lb.value) for lb in done.labels} >= {("team", "data")}

    logs = kestra.logs.list_logs_from_execution(created.id, TENANT)
    assert any(line.message == "hello ada x3" for line in logs)
    followed = [line.message for line in kestra.logs.follow_logs_from_execution(created.id, TENANT)]
    assert "hello ada x3" in followed
    assert "hello ada x3" in kestra.logs.download_logs_from_execution(created.id, TENANT)
    found = kestra.logs.search_logs(TENANT, filters=[{"field": "namespace", "operation": "EQUALS", "value": NS},
                                                     {"field": "level", "operation": "GREATER_THAN_OR_EQUAL_TO",
                                                      "value": "INFO"}])
    assert any(line.message == "hello ada x3" for line in found.results)

    search = kestra.executions.search_executions(
        TENANT, filters=[{"field": "namespace", "operation": "EQUALS", "value": NS},
                         {"field": "state", "operation": "IN", "value": ["SUCCESS"]},
                         {"field": "labels", "operation": "EQUALS", "value": {"team": "data"}}])
    assert [row["id"] for row in search["results"]] == [created.id]
    assert kestra.executions.eval_expression(created.id, TENANT, "{{ outputs.out.value }}") == {"result": "ADA"}


def test_execute_and_wait(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, GREET)
    done = kestra.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": "bo"})
    assert _state(done) == "SUCCESS" and done.additional_properties["outputs"] == {"shout": "BO"}


def test_kill_and_restart(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, SLOW)
    running = kestra.executions.create_execution(TENANT, NS, "slow")
    _wait_state(kestra, running.id, "RUNNING")
    kestra.executions.kill_execution(running.id, TENANT)
    assert _follow_to_end(kestra, running.id)[-1] == "KILLED"

    kestra.flows.create_flow(TENANT, BROKEN)
    failed = kestra.executions.create_execution(TENANT, NS, "broken", wait=True)
    assert _state(failed) == "FAILED"
    restarted = kestra.executions.restart_execution(failed.id, TENANT)
    assert restarted.id == failed.id
    assert _follow_to_end(kestra, failed.id)[-1] == "FAILED"
    again = kestra.executions.execution(failed.id, TENANT)
    assert again.metadata.attempt_number == 2
    assert "RESTARTED" in {str(getattr(h.state, "value", h.state)) for h in again.state.histories}


FILES = _flow("files", """\
inputs:
  - id: rows
    type: FILE
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: size
    type: io.kestra.plugin.core.debug.Return
    format: "{{ fileSize(inputs.rows) }}"
""")


def test_files_preview_pause_and_resume(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, FILES)
    body = b'{"a":1}\n{"a":2}\n'
    created = kestra.executions.create_execution(TENANT, NS, "files", inputs={"rows": ("rows.jsonl", body)})
    paused = _wait_state(kestra, created.id, "PAUSED")
    uri = paused.inputs["rows"]
    assert uri == f"kestra:///acme/kestra/files/executions/{created.id}/inputs/rows/rows.jsonl"
    assert kestra.executions.download_file_from_execution(created.id, uri, TENANT) == body
    preview = kestra.executions.preview_file_from_execution(created.id, uri, TENANT)
    assert (preview["type"], preview["content"]) == ("LIST", [{"a": 1}, {"a": 2}])

    kestra.executions.resume_execution(created.id, TENANT)
    assert _follow_to_end(kestra, created.id)[-1] == "SUCCESS"
    done = kestra.executions.execution(created.id, TENANT)
    size = next(run for run in done.task_run_list if run.task_id == "size")
    assert size.additional_properties["outputs"] == {"value": str(len(body))}


def test_kv_put_get_list_delete(kestra: Any) -> None:
    from kestrapy.exceptions import NotFoundException
    from kestrapy.models.kv_controller_api_delete_bulk_request import KVControllerApiDeleteBulkRequest

    kestra.kv.set_key_value(NS, "config", TENANT, json.dumps({"retries": 3}))
    kestra.kv.set_key_value(NS, "greeting", TENANT, '"hello"')
    kestra.kv.set_key_value(NS, "count", TENANT, "42")
    kestra.kv.set_key_value(NS, "since", TENANT, "2024-01-02T03:04:05Z")

    detail = kestra.kv.key_value(NS, "config", TENANT)
    assert (str(getattr(detail.type, "value", detail.type)), detail.value) == ("JSON", {"retries": 3})
    typed = {key: kestra.kv.key_value(NS, key, TENANT) for key in ("greeting", "count", "since")}
    assert {k: (str(getattr(v.type, "value", v.type)), v.value) for k, v in typed.items()} == {
        "greeting": ("STRING", "hello"), "count": ("NUMBER", 42), "since": ("DATETIME", "2024-01-02T03:04:05Z")}

    listed = kestra.kv.list_all_keys(TENANT, filters=[{"field": "namespace", "operation": "EQUALS", "value": NS}])
    assert sorted(entry.key for entry in listed.results) == ["config", "count", "greeting", "since"]

    assert kestra.kv.delete_key_value(NS, "config", TENANT) is True
    assert kestra.kv.delete_key_value(NS, "config", TENANT) is False
    with pytest.raises(NotFoundException):
        kestra.kv.key_value(NS, "config", TENANT)
    deleted = kestra.kv.delete_key_values(NS, TENANT, KVControllerApiDeleteBulkRequest(keys=["count", "nope"]))
    assert deleted.keys == ["count"]
    left = kestra.kv.list_all_keys(TENANT, filters=[{"field": "namespace", "operation": "EQUALS", "value": NS}])
    assert sorted(entry.key for entry in left.results) == ["greeting", "since"]


def test_basic_auth_and_tenants(kestra_basic: Any, asgi_server: Any) -> None:
    from django.conf import settings
    from kestrapy import KestraClient
    from kestrapy.exceptions import ApiException, NotFoundException, UnauthorizedException

    kestra_basic.flows.create_flow(TENANT, GREET)
    assert [f.id for f in kestra_basic.flows.search_flows(TENANT).results] == ["greet"]
    done = kestra_basic.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": "cy"})
    assert done.additional_properties["outputs"] == {"shout": "CY"}
    with pytest.raises(NotFoundException) as other:
        kestra_basic.flows.search_flows("acme-corp")
    assert "tenant" in other.value.body

    user = f"nobody-{uuid.uuid4().hex[:6]}"
    with KestraClient(host=asgi_server.url, username=user, password="wrong", timeout=30) as stranger:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            with pytest.raises(UnauthorizedException):
                stranger.flows.search_flows(TENANT)
        with pytest.raises(ApiException) as throttled:
            stranger.flows.search_flows(TENANT)
        assert throttled.value.status == 429


CALLER = _flow("caller", """\
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: acme.kestra
    flowId: greet
    inputs:
      name: sub
""")
LISTENER = _flow("listener", """\
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: caller ended
triggers:
  - id: after
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: caller_done
      flows:
        - namespace: acme.kestra
          flowId: caller
          states: [SUCCESS]
""")


def test_validate_bulk_export_import_and_dependencies(kestra: Any) -> None:
    checked = kestra.flows.validate_flows(TENANT, GREET + "---\n" + GREET.replace("type: STRING", "type: NOPE"))
    assert [bool(v.constraints) for v in checked] == [False, True]
    kestra.flows.bulk_update_flows(TENANT, body="---\n".join([GREET, CALLER, LISTENER]), delete=False)
    assert kestra.flows.search_flows(TENANT).total == 3

    exported = kestra.flows.export_flows_by_query(TENANT, filters=[{"field": "namespace", "operation": "EQUALS",
                                                                    "value": NS}])
    assert exported[:2] == b"PK"
    for flow_id in ("greet", "caller", "listener"):
        kestra.flows.delete_flow(NS, flow_id, TENANT)
    assert kestra.flows.search_flows(TENANT).total == 0
    kestra.flows.import_flows(TENANT, file_content=exported)
    assert kestra.flows.search_flows(TENANT).total == 3

    graph = kestra.flows.flow_dependencies(NS, "caller", TENANT)
    edges = {(e.source, e.target, str(getattr(e.relation, "value", e.relation))) for e in graph.edges}
    assert edges == {(f"{NS}_caller", f"{NS}_greet", "FLOW_TASK"), (f"{NS}_caller", f"{NS}_listener", "FLOW_TRIGGER")}
    only_out = kestra.flows.flow_dependencies(NS, "greet", TENANT, destination_only=True)
    assert only_out.edges == []
    assert len(kestra.flows.flow_dependencies_from_namespace(NS, TENANT).edges) == 2


def test_configs_and_plugins(kestra: Any) -> None:
    assert kestra.misc.configuration().edition == "OSS"
    plugins = kestra.plugins.list_plugins()
    assert any("io.kestra.plugin.core.log.Log" in json.dumps(p, default=str) for p in plugins)


@pytest.mark.skipif(not _served(f"/api/v1/namespaces/{NS}/files"),
                    reason="namespace files are not served by this build (GET /api/v1/namespaces/{ns}/files)")
def test_namespace_files(kestra: Any) -> None:
    from kestrapy.exceptions import NotFoundException

    kestra.files.create_namespace_file(NS, "/scripts/hello.py", TENANT, b"print('hi')\n")
    assert kestra.files.file_content(NS, "/scripts/hello.py", TENANT) == b"print('hi')\n"
    listed = kestra.files.list_namespace_directory_files(NS, TENANT, path="/scripts")
    assert [f.file_name for f in listed] == ["hello.py"]
    kestra.files.delete_file_directory(NS, "/scripts/hello.py", TENANT)
    with pytest.raises(NotFoundException):
        kestra.files.file_content(NS, "/scripts/hello.py", TENANT)


@pytest.mark.skipif(not _served("/api/v1/triggers/search"),
                    reason="the triggers API is not served by this build (GET /api/v1/triggers/search)")
def test_triggers_search_and_disable(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, _flow("ticking", """\
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: tick
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
"""))
    found = kestra.triggers.search_triggers(TENANT, filters=[{"field": "namespace", "operation": "EQUALS",
                                                              "value": NS}])
    assert [(row["triggerContext"]["triggerId"], row["triggerContext"]["disabled"])
            for row in found["results"]] == [("hourly", False)]
    kestra.triggers.disabled_triggers_by_query(TENANT, filters=[{"field": "namespace", "operation": "EQUALS",
                                                                 "value": NS}], disabled=True)
    after = kestra.triggers.search_triggers(TENANT, filters=[{"field": "namespace", "operation": "EQUALS",
                                                              "value": NS}])
    assert [row["triggerContext"]["disabled"] for row in after["results"]] == [True]
