"""GET /api/v1/executions/{id}/file/preview: first rows of CSV, ION and JSON outputs (files on a
real file-system storage, written by real tasks)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from apps.plugins import egress
from tests.plugins.flowrun import eager, execute

__all__ = ["eager"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def storage(settings: Any, tmp_path: Any) -> Any:
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def ran(storage: Any, writer: Any, httpserver: HTTPServer, eager: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/orders.csv").respond_with_data("id,name\n1,ann\n2,bob\n3,cy\n")
    return execute(writer, f"""\
        id: preview
        namespace: acme.data
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/orders.csv')}"
          - id: to_ion
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.fetch.uri }}}}"
          - id: to_json
            type: io.kestra.plugin.serdes.json.IonToJson
            from: "{{{{ outputs.to_ion.uri }}}}"
            newLine: false
        """)


def test_preview_of_csv_ion_and_json(api: Any, ran: Any) -> None:
    assert ran.state == "SUCCESS", ran.logs()
    url = f"/api/v1/executions/{ran.row.id}/file/preview"
    rows = [{"id": "1", "name": "ann"}, {"id": "2", "name": "bob"}, {"id": "3", "name": "cy"}]
    for task in ("fetch", "to_ion", "to_json"):
        body = api.get(url, {"path": ran.outputs(task)["uri"]}).json()
        assert body["type"] == "LIST" and body["content"] == rows and body["truncated"] is False, (task, body)
    assert api.get(url, {"path": ran.outputs("to_ion")["uri"]}).json()["extension"] == "ion"
    first = api.get(url, {"path": ran.outputs("to_ion")["uri"], "maxRows": 1}).json()
    assert first["content"] == rows[:1] and first["truncated"] is True


def test_preview_refuses_bad_requests(api: Any, ran: Any) -> None:
    url = f"/api/v1/executions/{ran.row.id}/file/preview"
    uri = ran.outputs("to_ion")["uri"]
    assert api.get(url).status_code == 400
    assert api.get(url, {"path": uri, "maxRows": "lots"}).status_code == 400
    assert api.get(url, {"path": uri, "maxRows": 0}).status_code == 422
    assert api.get(url, {"path": uri, "encoding": "nope"}).status_code == 422
    outside = api.get(url, {"path": "kestra:///acme/data/other/executions/x/f.ion"})
    assert outside.status_code == 422 and "does not belong" in outside.json()["message"]
    assert api.get(url, {"path": uri.replace("tasks/", "tasks/../")}).status_code == 422


def test_preview_needs_read_access(anon: Any, ran: Any) -> None:
    response = anon.get(f"/api/v1/executions/{ran.row.id}/file/preview", {"path": ran.outputs("fetch")["uri"]})
    assert response.status_code in (401, 403)
