"""RELIABILITY.md §4 rows 1-7, 24, 25, 29 and 40: a clear 4xx, nothing stored, service healthy."""

from __future__ import annotations

import io
import os
import stat
import threading
import time
import zipfile
from typing import Any

import pytest
from django.db import connection

from apps.flows.models import Flow, FlowRevision

pytestmark = pytest.mark.django_db

GOOD = "id: ok\nnamespace: acme\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def assert_nothing_stored() -> None:
    assert not Flow.objects.exists() and not FlowRevision.objects.exists()


def test_row1_billion_laughs_is_400_fast(api: Any, post_yaml: Any) -> None:
    started = time.perf_counter()
    response = post_yaml(api, "/api/v1/flows", billion_laughs())
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert "too many aliases" in response.json()["message"]
    assert elapsed < 2  # generous: the point is that it does not expand 10^9 nodes
    assert_nothing_stored()


@pytest.mark.parametrize("text", ["[" * 10_000, "a: " + "{a: " * 10_000 + "1" + "}" * 10_000,
                                  "".join(f"{'  ' * i}a:\n" for i in range(100)) + "  " * 100 + "b: 1\n"],
                         ids=["flow-seq", "flow-map", "block-map"])
def test_row2_deep_nesting_is_400(api: Any, post_yaml: Any, text: str) -> None:
    response = post_yaml(api, "/api/v1/flows", text)
    assert response.status_code == 400
    assert "max depth 64 exceeded" in response.json()["message"]
    assert_nothing_stored()


def test_row3_20mb_flow_is_413_before_parsing(api: Any, post_yaml: Any) -> None:
    huge = "id: big\nnamespace: acme\ndescription: '" + "x" * (20 * 1024 * 1024) + "'\ntasks: []\n"
    for url in ("/api/v1/flows", "/api/v1/flows/validate", "/api/v1/flows/acme"):
        response = post_yaml(api, url, huge)
        assert response.status_code == 413, url
        assert "limit" in response.json()["message"]
    assert_nothing_stored()


def test_row4_python_tag_is_400_and_runs_nothing(api: Any, post_yaml: Any, tmp_path: Any) -> None:
    marker = tmp_path / "pwn"
    text = f'id: x\nnamespace: acme\ntasks: !!python/object/apply:os.system ["touch {marker}"]\n'
    response = post_yaml(api, "/api/v1/flows", text)
    assert response.status_code == 400
    assert "unknown tag" in response.json()["message"]
    assert not os.path.exists(marker)
    assert_nothing_stored()


def test_row5_duplicate_keys_are_400(api: Any, post_yaml: Any) -> None:
    response = post_yaml(api, "/api/v1/flows", "id: a\nid: b\nnamespace: acme\ntasks: []\n")
    assert response.status_code == 400
    body = response.json()
    assert "duplicate key 'id'" in body["message"]
    assert body["errors"][0]["line"] == 2
    assert_nothing_stored()


@pytest.mark.parametrize("text", [
    GOOD.replace("id: ok", "id: ../../etc"),
    GOOD.replace("namespace: acme", 'namespace: "prod\\u202e"'),
    GOOD.replace("id: ok", 'id: "a\\0b"'),
], ids=["traversal", "bidi", "nul"])
def test_row6_invalid_identifiers_are_400(api: Any, post_yaml: Any, text: str) -> None:
    response = post_yaml(api, "/api/v1/flows", text)
    assert response.status_code == 400, response.json()
    assert "must match" in response.json()["message"]
    assert_nothing_stored()


def test_row6_templated_task_id_is_a_rule_violation(api: Any, post_yaml: Any) -> None:
    response = post_yaml(api, "/api/v1/flows", GOOD.replace("id: t", "id: '{{ no }}'"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "tasks[0].id"
    assert_nothing_stored()


@pytest.mark.parametrize("type_name", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_row7_unknown_type_is_400_without_import(api: Any, post_yaml: Any, type_name: str) -> None:
    response = post_yaml(api, "/api/v1/flows", GOOD.replace("io.kestra.plugin.core.log.Log", type_name))
    assert response.status_code == 400
    assert f"Invalid type: {type_name}" in response.json()["message"]
    assert_nothing_stored()


@pytest.mark.parametrize(("method", "url"), [("post", "/api/v1/namespaces/configs/flows"),
                                             ("get", "/api/v1/namespaces/x/flows/health"),
                                             ("get", "/api/v1/flows/search")])
def test_row24_anonymous_is_401(anon: Any, method: str, url: str) -> None:
    assert getattr(anon, method)(url).status_code == 401


def test_row25_sort_and_filter_injection_is_400(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", GOOD)
    response = api.get("/api/v1/flows/search", {"sort": "id;DROP TABLE x", "filter[labels]": "' OR 1=1--"})
    assert response.status_code == 400
    assert "unknown" in response.json()["message"]
    assert Flow.objects.count() == 1  # the table is still there


def _zip_with(name: str, data: bytes = b"id: x\n", symlink: bool = False) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.yml", GOOD)
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, data)
    buffer.seek(0)
    buffer.name = "flows.zip"
    return buffer


def _bomb() -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good.yml", GOOD)
        archive.writestr("bomb.yml", b"#" * (300 * 1024 * 1024))
    buffer.seek(0)
    buffer.name = "bomb.zip"
    return buffer


def _many() -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(100_000):
            archive.writestr(f"f{i}.yml", b"")
    buffer.seek(0)
    buffer.name = "many.zip"
    return buffer


@pytest.mark.parametrize(("upload", "fragment"), [
    (lambda: _zip_with("../../evil.py"), "../../evil.py"),
    (lambda: _zip_with("/abs/path.yml"), "/abs/path.yml"),
    (lambda: _zip_with("link.yml", b"/etc/passwd", symlink=True), "symbolic links"),
    (_many, "entries"),
    (_bomb, "bomb.yml"),
])
def test_row29_hostile_archives_are_400_and_import_nothing(api: Any, upload: Any, fragment: str,
                                                           tmp_path: Any) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        response = api.post("/api/v1/flows/import", {"fileUpload": upload()}, format="multipart")
    finally:
        os.chdir(cwd)
    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert list(tmp_path.iterdir()) == []
    assert_nothing_stored()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_row40_concurrent_puts_one_wins_one_409(writer: Any, post_yaml: Any) -> None:
    from rest_framework.test import APIClient

    from apps.accounts.services import create_token
    from apps.flows.services import create_flow

    create_flow(writer, GOOD)
    token = create_token(writer, "race").raw
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def put(message: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        response = post_yaml(client, "/api/v1/flows/acme/ok", GOOD.replace("hi", message), method="PUT",
                             HTTP_IF_MATCH='"1"')
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=put, args=(m,)) for m in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    flow = Flow.objects.get(flow_id="ok")
    assert flow.revision == 2 and FlowRevision.objects.filter(flow=flow).count() == 2
