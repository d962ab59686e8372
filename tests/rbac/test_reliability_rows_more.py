"""RELIABILITY.md §4 rows 28 and 39 (rows 35 and 37, the WebSocket ones, are in
tests/live/test_frames_and_origin.py): storage paths that try to leave storage, flows too big to
accept, and subflow recursion stopped at WEIR_MAX_SUBFLOW_DEPTH."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from apps.engine.states import TERMINATED, State
from apps.executions import files
from apps.executions import services as ex_services
from apps.executions.models import Execution, LogLine
from apps.flows import services as flows

SENTINEL = "outside-the-storage-root"


@pytest.fixture
def eager() -> Iterator[None]:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def disk(tmp_path: Path, settings: Any) -> Path:
    """Storage on disk under tmp/storage, with a file just outside it that nothing may reach."""
    root = tmp_path / "storage"
    root.mkdir()
    (tmp_path / "secret.txt").write_text(SENTINEL)
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    return tmp_path


@pytest.fixture
def root_client(make_user: Callable[..., Any]) -> tuple[Any, APIClient]:
    from apps.accounts.services import create_token

    root = make_user("root", is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(root, 't').raw}")
    return root, client


def _escapes(prefix: str) -> list[str]:
    return [
        f"kestra:///{prefix}../../../../etc/passwd", f"kestra:///{prefix}../../../../secret.txt",
        f"kestra:///{prefix}%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
        f"kestra:///{prefix}%252e%252e%252fsecret.txt", f"kestra:///{prefix}..%5c..%5csecret.txt",
        f"kestra:///{prefix}..\\..\\secret.txt", "kestra:////etc/passwd", "/etc/passwd", "../../etc/passwd",
        f"kestra:///{prefix}a%00.txt", f"kestra:///{prefix}a\x00.txt", f"kestra:///{prefix}./a.txt",
        "file:///etc/passwd",
    ]


LOG_FLOW = """\
id: reader
namespace: mine
inputs:
  - id: uri
    type: STRING
  - id: upload
    type: FILE
    required: false
tasks:
  - id: read
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.uri) }}"
"""


@pytest.mark.django_db(transaction=True)
def test_row28_storage_paths_cannot_leave_storage(eager: None, disk: Path,
                                                  root_client: tuple[Any, APIClient]) -> None:
    root, client = root_client
    flows.create_flow(root, LOG_FLOW)
    own = ex_services.create_execution("mine", "reader", inputs={"uri": "kestra:///nothing"}, inputs_mode="raw")
    ex_services.wait(own.id, 30)
    prefix = files.prefix(own)
    files.storage().save(prefix + "ok.txt", ContentFile(b"inside"))

    # The download API: every escape is refused; a file of the execution is served.
    for uri in _escapes(prefix):
        for response in (client.get(f"/api/v1/executions/{own.id}/file", {"path": uri}),
                         client.get(f"/api/v1/executions/{own.id}/file/metas", {"path": uri})):
            assert response.status_code in (400, 422), (uri, response.status_code)
            assert SENTINEL not in response.content.decode("latin-1") and "root:" not in response.content.decode("latin-1")
            assert response.json()["message"], uri
    served = client.get(f"/api/v1/executions/{own.id}/file", {"path": f"kestra:///{prefix}ok.txt"})
    assert served.status_code == 200 and b"".join(served.streaming_content) == b"inside"
    # The same escapes sent percent-encoded in the raw query string.
    raw = client.get(f"/api/v1/executions/{own.id}/file?path=kestra:///{prefix}%2e%2e%2f%2e%2e%2fsecret.txt")
    assert raw.status_code == 422

    # read() in a flow: the task fails naming the path; nothing outside is read.
    for uri in _escapes(prefix)[:8]:
        done = ex_services.wait(ex_services.create_execution("mine", "reader", inputs={"uri": uri}).id, 30)
        assert done.state == "FAILED", uri
        messages = " ".join(LogLine.objects.filter(execution_id=done.id).values_list("message", flat=True))
        assert SENTINEL not in messages and "root:x" not in messages
        # Refused as a path; a well-formed path into another namespace's folders by the
        # flow-to-namespace rule (docs/adr/0010); a plain path is a namespace file, looked up by name.
        assert any(why in messages for why in ("storage path", "storage URI", "not found in internal storage",
                                               "may not read the file", "no namespace file")), messages
        assert str(disk) not in messages  # where storage lives is not told either

    # FILE inputs given as URIs are checked when the execution is created (422, no execution).
    before = Execution.objects.count()
    for uri in _escapes(prefix)[:6]:
        refused = client.post("/api/v1/executions/mine/reader", {"uri": "x", "upload": uri}, format="multipart")
        assert refused.status_code == 422 and "upload" in str(refused.json()), (uri, refused.content)
    assert Execution.objects.count() == before

    # An uploaded file's own name cannot place it outside the execution's files.
    upload = ContentFile(b"payload", name="../../../../evil.txt")
    created = client.post("/api/v1/executions/mine/reader", {"uri": "kestra:///x", "upload": upload},
                          format="multipart")
    assert created.status_code == 200, created.content
    stored = Execution.objects.get(id=created.json()["id"]).inputs.get("upload") or ""
    assert stored.startswith("kestra:///mine/reader/executions/") and ".." not in stored, stored
    assert not (disk / "evil.txt").exists() and not list(disk.parent.glob("evil.txt"))


def _many_tasks(count: int) -> str:
    lines = [f"  - {{id: t{i}, type: io.kestra.plugin.core.log.Log, message: m}}" for i in range(count)]
    return "id: big\nnamespace: mine\ntasks:\n" + "\n".join(lines) + "\n"


NESTED = """\
id: nested
namespace: mine
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: a
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: b
        type: io.kestra.plugin.core.log.Log
        message: b
errors:
  - id: c
    type: io.kestra.plugin.core.log.Log
    message: c
finally:
  - id: d
    type: io.kestra.plugin.core.log.Log
    message: d
"""


@pytest.mark.django_db
def test_row39_a_flow_with_too_many_tasks_is_refused(root_client: tuple[Any, APIClient], settings: Any,
                                                     post_yaml: Callable[..., Any]) -> None:
    _, client = root_client
    huge = post_yaml(client, "/api/v1/flows", _many_tasks(10_000))
    assert huge.status_code == 422
    body = huge.json()
    assert "WEIR_MAX_TASKS" in body["errors"][0]["message"] and "2000" in body["errors"][0]["message"]
    assert body["errors"][0]["path"] == "tasks[2000]" and len(body["errors"]) == 1
    assert post_yaml(client, "/api/v1/flows", _many_tasks(2000)).status_code == 200
    # Every level counts: tasks, a flowable's children, errors and finally.
    settings.WEIR_MAX_TASKS = 4
    refused = post_yaml(client, "/api/v1/flows", NESTED)
    assert refused.status_code == 422 and "at most 4 tasks" in refused.json()["errors"][0]["message"]
    settings.WEIR_MAX_TASKS = 5
    assert post_yaml(client, "/api/v1/flows", NESTED).status_code == 200
    assert client.post("/api/v1/flows/validate", _many_tasks(6).encode(),
                       content_type="application/x-yaml").json()[0]["constraints"]


PING = """\
id: ping
namespace: mine
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: mine
    flowId: pong
"""
PONG = PING.replace("id: ping", "id: pong").replace("flowId: pong", "flowId: ping")
SELF = """\
id: self
namespace: mine
tasks:
  - id: again
    type: io.kestra.plugin.core.flow.Subflow
    namespace: "{{ flow.namespace }}"
    flowId: "{{ flow.id }}"
"""


def _ended(execution_id: str) -> Execution:
    return ex_services.wait(execution_id, 120)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("sources", "start", "limit", "chain"), [
    ((PING, PONG), "ping", 10, "mine.ping → mine.pong → mine.ping"),
    ((SELF,), "self", 3, "mine.self → mine.self → mine.self → mine.self"),
], ids=["indirect", "direct-by-expression"])
def test_row39_subflow_recursion_stops_at_the_depth_limit(eager: None, root_client: tuple[Any, APIClient],
                                                          settings: Any, sources: tuple[str, ...], start: str,
                                                          limit: int, chain: str) -> None:
    root, _ = root_client
    settings.WEIR_MAX_SUBFLOW_DEPTH = limit
    for source in sources:
        flows.create_flow(root, source)
    top = _ended(ex_services.create_execution("mine", start).id)
    assert top.state == "FAILED"
    rows = list(Execution.objects.all())
    assert len(rows) == limit, "one execution per level, none beyond the limit"
    assert all(State(_ended(r.id).state) in TERMINATED for r in rows)
    errors = list(LogLine.objects.filter(level="ERROR", message__contains="subflow depth limit")
                  .values_list("message", flat=True))
    assert len(errors) == 1 and f"subflow depth limit {limit} reached: {chain}" in errors[0], errors
    deepest = Execution.objects.get(id=LogLine.objects.get(message=errors[0]).execution_id)
    assert len(deepest.meta["subflowChain"]) == limit - 1
