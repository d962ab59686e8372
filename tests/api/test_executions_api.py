"""Executions, logs and metrics REST API (KESTRA.md §7.2, §7.3).

Most tests run inside the test transaction, where `on_commit` never fires: a created execution
starts in its creating transaction (RUNNING, its first task runs planned) but they are never
dispatched. That is exactly the state kill, pause, force-run and friends need.
The end-to-end tests (`transaction=True` with an eager Celery) run executions to their end.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.executions import services as ex_services
from apps.executions.models import Execution, LogLine, Metric, TaskRun
from apps.executions.runtime import lifecycle, runner
from apps.flows import services as flow_services
from apps.namespaces.permissions import Action, can

GREET = """\
id: greet
namespace: acme.data
labels:
  team: data
inputs:
  - id: name
    type: STRING
    defaults: World
  - id: count
    type: INT
    required: false
  - id: doc
    type: FILE
    required: false
  - id: token
    type: SECRET
    required: false
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}"
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.name }}!"
"""


def _flow(namespace: str, flow_id: str, extra: str = "") -> str:
    return (f"id: {flow_id}\nnamespace: {namespace}\n{extra}tasks:\n"
            "  - id: only\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")


@pytest.fixture
def greet(writer: Any) -> Any:
    return flow_services.create_flow(writer, GREET)


@pytest.fixture
def storage(settings: Any, tmp_path: Any) -> Any:
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def eager(settings: Any) -> Iterator[None]:
    """Celery runs tasks in the calling thread; `wait=true` gives up after 30 s rather than 300."""
    from config.celery import app

    settings.WEIR_EXECUTION_WAIT_SECONDS = 30
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _create(namespace: str = "acme.data", flow_id: str = "greet", **kwargs: Any) -> Execution:
    return ex_services.create_execution(namespace, flow_id, **kwargs)


def _running() -> Execution:
    row = _create()
    lifecycle.start(row.id)
    row.refresh_from_db()
    assert row.state == "RUNNING"
    return row


def _killed() -> Execution:
    row = _create()
    ex_services.kill(row.id)
    row.refresh_from_db()
    assert row.state == "KILLED"
    return row


# ---------------------------------------------------------------------------------------------
# Create and validate


@pytest.mark.django_db
def test_create_with_a_json_body(api: Any, greet: Any) -> None:
    response = api.post("/api/v1/executions/acme.data/greet?labels=env:prod", {"name": "Ada", "count": 3},
                        format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["namespace"] == "acme.data" and body["flowId"] == "greet" and body["flowRevision"] == 1
    assert body["inputs"]["name"] == "Ada" and body["inputs"]["count"] == 3
    assert body["state"]["current"] == "RUNNING"  # started in the transaction that created it
    assert [s["state"] for s in body["state"]["histories"]] == ["CREATED", "RUNNING"]
    assert {"key": "env", "value": "prod"} in body["labels"] and {"key": "team", "value": "data"} in body["labels"]
    assert {"key": "system.correlationId", "value": body["id"]} in body["labels"]
    assert body["url"].endswith(f"/executions/{body['id']}/")
    assert Execution.objects.filter(id=body["id"]).exists()


@pytest.mark.django_db
def test_create_with_multipart_fields_and_a_file(api: Any, greet: Any, storage: Any) -> None:
    upload = io.BytesIO(b"col\n1\n")
    upload.name = "doc"
    response = api.post("/api/v1/executions/acme.data/greet", {"name": "Bob", "count": "5", "files": upload},
                        format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["inputs"]["name"] == "Bob" and body["inputs"]["count"] == 5
    uri = body["inputs"]["doc"]
    assert uri.startswith(f"kestra:///acme/data/greet/executions/{body['id']}/inputs/doc/")
    download = api.get(f"/api/v1/executions/{body['id']}/file", {"path": uri})
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"col\n1\n"
    assert api.get(f"/api/v1/executions/{body['id']}/file/metas", {"path": uri}).json() == {"size": 6}


@pytest.mark.django_db
def test_deprecated_trigger_alias_creates_too(api: Any, greet: Any) -> None:
    response = api.post("/api/v1/executions/trigger/acme.data/greet", {}, format="json")
    assert response.status_code == 200 and response.json()["inputs"]["name"] == "World"


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "bad"), [
    ({"count": "abc"}, ["count"]),
    ({"count": "x", "name": 12.5, "doc": "/etc/passwd"}, ["count", "doc"]),
], ids=["one", "several"])
def test_invalid_inputs_are_422_naming_each_and_create_nothing(api: Any, greet: Any, body: Any,
                                                                bad: list[str]) -> None:
    response = api.post("/api/v1/executions/acme.data/greet", body, format="json")
    assert response.status_code == 422, response.json()
    paths = [e["path"] for e in response.json()["errors"]]
    assert paths == [f"inputs.{name}" for name in bad]
    assert all(f"`{name}`" in response.json()["message"] for name in bad)
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_unknown_flow_is_404_and_disabled_flow_is_409(api: Any, writer: Any) -> None:
    assert api.post("/api/v1/executions/acme.data/nope", {}, format="json").status_code == 404
    flow_services.create_flow(writer, _flow("acme.data", "switched_off", "disabled: true\n"))
    response = api.post("/api/v1/executions/acme.data/switched_off", {}, format="json")
    assert response.status_code == 409 and "disabled" in response.json()["message"]


@pytest.mark.django_db
def test_validate_reports_each_input_and_creates_nothing(api: Any, greet: Any) -> None:
    response = api.post("/api/v1/executions/acme.data/greet/validate", {"count": "x", "token": "s3cret"},
                        format="json")
    assert response.status_code == 200, response.json()
    inputs = {i["id"]: i for i in response.json()["inputs"]}
    assert inputs["name"] == {"id": "name", "type": "STRING", "enabled": True, "value": "World", "errors": []}
    assert inputs["count"]["errors"] and "`count`" in inputs["count"]["errors"][0]["message"]
    assert inputs["token"]["value"] == "******"
    assert not Execution.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_wait_true_returns_the_finished_execution(api: Any, greet: Any, eager: None) -> None:
    response = api.post("/api/v1/executions/acme.data/greet?wait=true", {"name": "Eve"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"]["current"] == "SUCCESS"
    runs = {r["taskId"]: r for r in body["taskRunList"]}
    assert runs["done"]["outputs"] == {"value": "Eve!"}
    logs = api.get(f"/api/v1/logs/{body['id']}").json()
    assert any(line["message"] == "Hello Eve" and line["taskId"] == "hello" for line in logs)


# ---------------------------------------------------------------------------------------------
# Read and search


@pytest.mark.django_db
def test_get_an_execution_with_its_task_runs(api: Any, greet: Any) -> None:
    row = _running()
    body = api.get(f"/api/v1/executions/{row.id}").json()
    assert body["id"] == row.id and body["state"]["current"] == "RUNNING"
    assert [r["taskId"] for r in body["taskRunList"]] == ["hello"]
    assert api.get("/api/v1/executions/doesnotexist").status_code == 404


@pytest.fixture
def spread(writer: Any) -> dict[str, Execution]:
    """Executions in `acme`, `acme.data` (a child) and `acmecorp` (not a child), with labels."""
    for ns, fid in (("acme", "root"), ("acme.data", "child"), ("acmecorp", "other")):
        flow_services.create_flow(writer, _flow(ns, fid))
    out = {
        "root": _create("acme", "root", labels=[{"key": "env", "value": "prod"}]),
        "child": _create("acme.data", "child", labels=[{"key": "env", "value": "dev"}]),
        "other": _create("acmecorp", "other", labels=[{"key": "env", "value": "prod"}]),
    }
    ex_services.kill(out["other"].id)
    return out


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.json()
    return {r["id"] for r in response.json()["results"]}


@pytest.mark.django_db
def test_search_filters(api: Any, spread: dict[str, Execution]) -> None:
    root, child, other = spread["root"].id, spread["child"].id, spread["other"].id
    search = "/api/v1/executions/search"
    assert _ids(api.get(search)) == {root, child, other}
    assert _ids(api.get(search, {"namespace": "acme"})) == {root, child}
    assert _ids(api.get(search, {"namespace": "acme.data"})) == {child}
    assert _ids(api.get(search, {"flowId": "other"})) == {other}
    assert _ids(api.get(search, {"labels": "env:prod"})) == {root, other}
    assert _ids(api.get(f"{search}?labels=env:prod&namespace=acme")) == {root}
    assert _ids(api.get(search, {"state": "KILLED"})) == {other}
    assert _ids(api.get(f"{search}?state=KILLED&state=RUNNING")) == {root, child, other}
    assert _ids(api.get(search, {"timeRange": "PT1H"})) == {root, child, other}
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert _ids(api.get(search, {"startDate": later})) == set()
    assert _ids(api.get(search, {"q": child[:12]})) == {child}
    assert _ids(api.get(search, {"childFilter": "MAIN"})) == {root, child, other}
    assert _ids(api.get(search, {"triggerExecutionId": root})) == set()


@pytest.mark.django_db
def test_search_pages_and_sorts(api: Any, spread: dict[str, Execution]) -> None:
    first = api.get("/api/v1/executions/search", {"size": 2, "page": 1, "sort": "flowId:asc"}).json()
    second = api.get("/api/v1/executions/search", {"size": 2, "page": 2, "sort": "flowId:asc"}).json()
    assert first["total"] == second["total"] == 3
    assert [r["flowId"] for r in first["results"] + second["results"]] == ["child", "other", "root"]
    flow = api.get("/api/v1/executions", {"namespace": "acme", "flowId": "root"}).json()
    assert flow["total"] == 1 and flow["results"][0]["id"] == spread["root"].id


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["sort=password:asc", "sort=id:sideways", "bogus=1", "state=DONE",
                                   "timeRange=an-hour", "labels=nocolon", "childFilter=BOTH", "size=0"],
                         ids=["sort-field", "sort-dir", "unknown-param", "state", "time-range", "labels",
                              "child-filter", "size"])
def test_search_refuses_bad_parameters_with_400(api: Any, query: str) -> None:
    response = api.get(f"/api/v1/executions/search?{query}")
    assert response.status_code == 400 and response.json()["message"]


@pytest.mark.django_db
def test_graph_is_the_pinned_topology_with_task_runs(api: Any, greet: Any) -> None:
    row = _running()
    body = api.get(f"/api/v1/executions/{row.id}/graph").json()
    tasks = {n["task"]["id"]: n for n in body["nodes"] if n.get("task")}
    assert set(tasks) == {"hello", "done"}
    assert tasks["hello"]["taskRun"]["taskId"] == "hello" and tasks["done"]["taskRun"] is None
    assert [r["taskId"] for r in body["taskRunList"]] == ["hello"]
    assert body["edges"]


# ---------------------------------------------------------------------------------------------
# Driving an execution


@pytest.mark.django_db
def test_kill_is_202_then_409(api: Any, greet: Any) -> None:
    row = _create()
    response = api.delete(f"/api/v1/executions/{row.id}/kill")
    assert response.status_code == 202, response.json()
    assert response.json()["state"]["current"] == "KILLED"
    again = api.delete(f"/api/v1/executions/{row.id}/kill")
    assert again.status_code == 409 and "terminated" in again.json()["message"]


@pytest.mark.django_db
def test_pause_then_resume_a_running_execution(api: Any, greet: Any) -> None:
    row = _running()
    paused = api.post(f"/api/v1/executions/{row.id}/pause")
    assert paused.status_code == 200 and paused.json()["state"]["current"] == "PAUSED"
    assert api.post(f"/api/v1/executions/{row.id}/pause").status_code == 422
    resumed = api.post(f"/api/v1/executions/{row.id}/resume", {}, format="json")
    assert resumed.status_code == 200, resumed.json()
    assert resumed.json()["state"]["current"] in {"RESTARTED", "RUNNING"}
    assert api.post(f"/api/v1/executions/{row.id}/resume", {}, format="json").status_code == 409


@pytest.mark.django_db
def test_change_status_of_a_terminated_execution(api: Any, greet: Any) -> None:
    row = _killed()
    response = api.post(f"/api/v1/executions/{row.id}/change-status?status=SUCCESS")
    assert response.status_code == 200 and response.json()["state"]["current"] == "SUCCESS"
    running = _running()
    assert api.post(f"/api/v1/executions/{running.id}/change-status?status=SUCCESS").status_code == 422
    assert api.post(f"/api/v1/executions/{row.id}/change-status").status_code == 400


@pytest.mark.django_db
def test_force_a_task_run_state(api: Any, greet: Any) -> None:
    row = _running()
    hello = TaskRun.objects.get(execution_id=row.id, task_id="hello")
    response = api.post(f"/api/v1/executions/{row.id}/state", {"taskRunId": hello.id, "state": "SUCCESS"},
                        format="json")
    assert response.status_code == 200, response.json()
    runs = {r["taskId"]: r["state"]["current"] for r in response.json()["taskRunList"]}
    assert runs["hello"] == "SUCCESS" and "done" in runs  # the execution went on to the next task
    assert api.post(f"/api/v1/executions/{row.id}/state", {"taskRunId": "nope", "state": "SUCCESS"},
                    format="json").status_code == 404
    assert api.post(f"/api/v1/executions/{row.id}/state", {"state": "SUCCESS"}, format="json").status_code == 400


@pytest.mark.django_db
def test_set_labels_keeps_system_labels(api: Any, greet: Any) -> None:
    row = _killed()
    response = api.post(f"/api/v1/executions/{row.id}/labels", [{"key": "owner", "value": "ada"}], format="json")
    assert response.status_code == 200, response.json()
    labels = response.json()["labels"]
    assert {"key": "owner", "value": "ada"} in labels
    assert {"key": "system.correlationId", "value": row.id} in labels
    system = api.post(f"/api/v1/executions/{row.id}/labels", [{"key": "system.x", "value": "1"}], format="json")
    assert system.status_code == 422
    assert api.post(f"/api/v1/executions/{row.id}/labels", {"k": "v"}, format="json").status_code == 400


@pytest.mark.django_db
def test_force_run_and_unqueue(api: Any, writer: Any) -> None:
    flow_services.create_flow(writer, _flow("acme.q", "single", "concurrency:\n  limit: 1\n"))
    first, second, third = (_create("acme.q", "single") for _ in range(3))
    for row in (first, second, third):
        lifecycle.start(row.id)
    states = dict(Execution.objects.values_list("id", "state"))
    assert (states[first.id], states[second.id], states[third.id]) == ("RUNNING", "QUEUED", "QUEUED")
    cancelled = api.post(f"/api/v1/executions/{second.id}/unqueue?state=CANCELLED")
    assert cancelled.status_code == 200 and cancelled.json()["state"]["current"] == "CANCELLED"
    forced = api.post(f"/api/v1/executions/{third.id}/force-run")
    assert forced.status_code == 200 and forced.json()["state"]["current"] == "RUNNING"
    assert api.post(f"/api/v1/executions/{third.id}/unqueue").status_code == 409
    assert api.post(f"/api/v1/executions/{first.id}/force-run").status_code == 409


@pytest.mark.django_db
def test_force_run_starts_a_scheduled_execution_now(api: Any, greet: Any) -> None:
    row = _create(schedule_date=timezone.now() + timedelta(days=1))
    lifecycle.start(row.id)
    assert Execution.objects.get(id=row.id).state == "CREATED"
    response = api.post(f"/api/v1/executions/{row.id}/force-run")
    assert response.status_code == 200 and response.json()["state"]["current"] == "RUNNING"


@pytest.mark.django_db
def test_delete_a_terminated_execution(api: Any, greet: Any) -> None:
    running = _running()
    assert api.delete(f"/api/v1/executions/{running.id}").status_code == 409
    row = _killed()
    assert api.delete(f"/api/v1/executions/{row.id}?deleteLogs=false").status_code == 400
    assert api.delete(f"/api/v1/executions/{row.id}").status_code == 204
    assert api.get(f"/api/v1/executions/{row.id}").status_code == 404
    assert not Execution.objects.filter(id=row.id).exists()


FAILING = """\
id: flaky
namespace: acme.data
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: broken
"""

PAUSING = """\
id: approval
namespace: acme.data
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: reason
        type: STRING
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.wait.onResume.reason }}"
"""


@pytest.mark.django_db(transaction=True)
def test_restart_and_replay_a_failed_execution(api: Any, writer: Any, eager: None) -> None:
    flow_services.create_flow(writer, FAILING)
    failed = api.post("/api/v1/executions/acme.data/flaky?wait=true", {}, format="json").json()
    assert failed["state"]["current"] == "FAILED"
    restarted = api.post(f"/api/v1/executions/{failed['id']}/restart")
    assert restarted.status_code == 200, restarted.json()
    body = restarted.json()
    assert body["id"] == failed["id"] and body["metadata"]["attemptNumber"] == 2
    assert "RESTARTED" in [h["state"] for h in body["state"]["histories"]]
    boom = next(r for r in failed["taskRunList"] if r["taskId"] == "boom")
    replayed = api.post(f"/api/v1/executions/{failed['id']}/replay?taskRunId={boom['id']}")
    assert replayed.status_code == 200, replayed.json()
    copy = replayed.json()
    assert copy["id"] != failed["id"] and copy["parentId"] == failed["id"]
    assert api.post(f"/api/v1/executions/{failed['id']}/replay?taskRunId=nope").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_resume_a_pause_task_with_inputs(api: Any, writer: Any, eager: None) -> None:
    flow_services.create_flow(writer, PAUSING)
    created = api.post("/api/v1/executions/acme.data/approval", {}, format="json").json()
    paused = api.get(f"/api/v1/executions/{created['id']}").json()  # eager: it ran up to the pause
    assert paused["state"]["current"] == "PAUSED"
    url = f"/api/v1/executions/{paused['id']}/resume"
    check = api.post(url + "/validate", {}, format="json").json()
    assert check["inputs"][0]["id"] == "reason" and check["inputs"][0]["errors"]
    assert api.post(url, {}, format="json").status_code == 422  # `reason` is required
    assert api.post(url, {"reason": "approved"}, format="multipart").status_code == 200
    done = ex_services.wait(paused["id"], 10)
    assert done.state == "SUCCESS"
    after = TaskRun.objects.get(execution_id=done.id, task_id="after")
    assert after.outputs == {"value": "approved"}


@pytest.mark.django_db
def test_eval_renders_in_the_task_run_context(api: Any, greet: Any) -> None:
    row = _create(inputs={"name": "Ada"})
    lifecycle.start(row.id)
    hello = TaskRun.objects.get(execution_id=row.id, task_id="hello")
    url = f"/api/v1/executions/{row.id}/eval/{hello.id}"
    ok = api.generic("POST", url, "{{ inputs.name }} in {{ taskrun.id }}", content_type="text/plain")
    assert ok.status_code == 200 and ok.json() == {"result": f"Ada in {hello.id}"}
    bad = api.generic("POST", url, "{{ nothing.here }}", content_type="text/plain")
    assert bad.status_code == 200 and "nothing" in bad.json()["error"]
    assert api.generic("POST", f"/api/v1/executions/{row.id}/eval/nope", "x",
                       content_type="text/plain").status_code == 404


@pytest.mark.django_db
def test_eval_needs_write_on_the_namespace(api: Any, greet: Any, reader: Any, viewer: Any) -> None:
    """It runs arbitrary expressions (secrets included): EXECUTE is not enough (issue 11)."""
    from rest_framework.test import APIClient

    row = _create(inputs={"name": "Ada"})
    lifecycle.start(row.id)
    hello = TaskRun.objects.get(execution_id=row.id, task_id="hello")
    url = f"/api/v1/executions/{row.id}/eval/{hello.id}"
    for user, status in ((reader, 403), (viewer, 403)):
        client = APIClient()
        client.force_authenticate(user)
        denied = client.generic("POST", url, "{{ 1 + 1 }}", content_type="text/plain")
        assert denied.status_code == status, (user.username, denied.status_code)
        assert "result" not in denied.json()
    assert api.generic("POST", url, "{{ 1 + 1 }}", content_type="text/plain").json() == {"result": "2"}


@pytest.mark.django_db
def test_a_slow_eval_stops_at_the_render_time_limit(api: Any, greet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same budget as a task's rendering (limits.MAX_RENDER_SECONDS); past it, a 422 JSON."""
    from apps.engine.expressions import limits

    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.3)
    row = _create(inputs={"name": "Ada"})
    lifecycle.start(row.id)
    hello = TaskRun.objects.get(execution_id=row.id, task_id="hello")
    slow = ("{% for i in range(1, 100000) %}{% for j in range(1, 100000) %}"
            "{% endfor %}{% endfor %}")
    answer = api.generic("POST", f"/api/v1/executions/{row.id}/eval/{hello.id}", slow, content_type="text/plain")
    assert answer.status_code == 422, answer.content
    assert "longer than 0.3 s" in answer.json()["message"]
    fine = api.generic("POST", f"/api/v1/executions/{row.id}/eval/{hello.id}", "{{ inputs.name }}",
                       content_type="text/plain")
    assert fine.json() == {"result": "Ada"}


@pytest.mark.django_db
def test_files_outside_the_execution_are_refused(api: Any, greet: Any, storage: Any) -> None:
    row = _create()
    other = _create()
    base = f"kestra:///acme/data/greet/executions/{row.id}"
    (storage / "secret.txt").write_text("no")
    url = f"/api/v1/executions/{row.id}/file"
    for path in (f"{base}/../{other.id}/x", f"{base}/./x", "kestra:///secret.txt",
                 f"kestra:///acme/data/greet/executions/{other.id}/x", "/etc/passwd", f"{base}/a\\..\\b"):
        response = api.get(url, {"path": path})
        assert response.status_code == 422, (path, response.status_code)
    assert api.get(url, {"path": f"{base}/missing.txt"}).status_code == 404
    assert api.get(url).status_code == 400


# ---------------------------------------------------------------------------------------------
# Logs and metrics


@pytest.fixture
def logged(greet: Any) -> Execution:
    row = _running()
    hello = TaskRun.objects.get(execution_id=row.id, task_id="hello")
    with transaction.atomic():
        runner.append_logs(row, [(hello.id, "INFO", "one"), (hello.id, "DEBUG", "two"), (None, "WARN", "three"),
                                 (hello.id, "ERROR", "four"), (None, "INFO", "five")], runner.snapshot(row.id)[1])
    return row


@pytest.mark.django_db
def test_logs_page_by_seq(api: Any, logged: Execution) -> None:
    url = f"/api/v1/logs/{logged.id}"
    everything = api.get(url).json()
    seqs = [line["seq"] for line in everything]
    assert seqs == sorted(seqs) and len(seqs) == LogLine.objects.filter(execution_id=logged.id).count()
    first = api.get(url, {"size": 2}).json()
    rest = api.get(url, {"afterSeq": first[-1]["seq"]}).json()
    assert [line["seq"] for line in first + rest] == seqs
    assert [line["message"] for line in api.get(url, {"minLevel": "WARN"}).json()] == ["three", "four"]
    assert [line["message"] for line in api.get(url, {"taskId": "hello", "minLevel": "DEBUG"}).json()] == [
        "one", "two", "four"]
    assert api.get(url, {"minLevel": "LOUD"}).status_code == 400
    assert api.get(url, {"size": 0}).status_code == 400


@pytest.mark.django_db
def test_logs_download_and_search_and_delete(api: Any, logged: Execution) -> None:
    download = api.get(f"/api/v1/logs/{logged.id}/download", {"minLevel": "WARN"})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/plain")
    text = b"".join(download.streaming_content).decode()
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].endswith(" WARN [-] three") and lines[1].endswith(" ERROR [hello] four")
    found = api.get("/api/v1/logs/search", {"namespace": "acme", "minLevel": "ERROR"}).json()
    assert found["total"] == 1 and found["results"][0]["message"] == "four"
    assert found["results"][0]["namespace"] == "acme.data" and found["results"][0]["flowId"] == "greet"
    assert api.get("/api/v1/logs/search", {"namespace": "elsewhere"}).json()["total"] == 0
    assert api.delete(f"/api/v1/logs/{logged.id}").status_code == 204
    assert api.get(f"/api/v1/logs/{logged.id}").json() == []


@pytest.mark.django_db
def test_metrics_of_an_execution(api: Any, greet: Any) -> None:
    row = _running()
    now = timezone.now()
    for task_id, name, value in (("hello", "rows", 3.0), ("hello", "duration", 1.5), ("done", "rows", 7.0)):
        Metric.objects.create(execution=row, task_run_id=None, task_id=task_id, kind="counter", name=name,
                              value=value, tags={"t": "1"}, timestamp=now)
    everything = api.get(f"/api/v1/metrics/{row.id}").json()
    assert everything["total"] == 3
    page = api.get(f"/api/v1/metrics/{row.id}", {"taskId": "hello", "size": 1, "sort": "name:asc"}).json()
    assert page["total"] == 2 and len(page["results"]) == 1
    metric = page["results"][0]
    assert metric["name"] == "duration" and metric["type"] == "counter" and metric["executionId"] == row.id
    assert metric["namespace"] == "acme.data" and metric["tags"] == {"t": "1"}


# ---------------------------------------------------------------------------------------------
# Access


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/v1/executions/search"), ("get", "/api/v1/executions/x"), ("post", "/api/v1/executions/a/b"),
    ("delete", "/api/v1/executions/x/kill"), ("get", "/api/v1/logs/x"), ("get", "/api/v1/metrics/x"),
    ("get", "/api/v1/logs/search"),
], ids=["search", "get", "create", "kill", "logs", "metrics", "log-search"])
def test_anonymous_gets_401(anon: Any, method: str, url: str) -> None:
    assert getattr(anon, method)(url).status_code == 401


@pytest.mark.django_db
def test_an_outsider_gets_404(greet: Any, outsider: Any) -> None:
    from rest_framework.test import APIClient

    if can(outsider, Action.READ, "acme.data"):
        pytest.skip("namespace roles are not enforced yet: every active user may read acme.data")
    row = _create()
    client = APIClient()
    client.force_authenticate(outsider)
    for method, url in (("get", f"/api/v1/executions/{row.id}"), ("get", f"/api/v1/logs/{row.id}"),
                        ("delete", f"/api/v1/executions/{row.id}/kill"), ("post", "/api/v1/executions/acme.data/greet")):
        assert getattr(client, method)(url).status_code == 404, url
    assert client.get("/api/v1/executions/search").json()["total"] == 0
