"""The execution page's Outputs tab previews output files as tables, in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from apps.cli.devserver import ServerThread
from apps.executions import services as ex_services
from apps.flows import services as flow_services
from apps.plugins import egress

pytestmark = [pytest.mark.browser]


def test_outputs_tab_previews_csv_and_ion_files(page: Any, asgi_server: ServerThread, admin: Any, artifacts: Path,
                                                httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/orders.csv").respond_with_data(
        'id,name\n1,<img src=x onerror="window.__xss=1">\n2,bob\n', content_type="text/csv")
    flow_services.create_flow(admin, f"""\
id: files
namespace: acme.browser
tasks:
  - id: fetch
    type: io.kestra.plugin.core.http.Download
    uri: "{httpserver.url_for('/orders.csv')}"
  - id: to_ion
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.fetch.uri }}}}"
""")
    execution_id = str(ex_services.create_execution("acme.browser", "files").id)
    page.goto(f"{asgi_server.url}/executions/{execution_id}/")
    page.wait_for_function("() => document.querySelector('[data-execution-state]')?.dataset.executionState"
                           " === 'SUCCESS'", timeout=60000)
    page.get_by_role("tab", name="Outputs").click()
    ion_row = page.locator("tr[data-task-run]", has=page.locator(".task-id", has_text="to_ion"))
    ion_row.get_by_role("button", name="Preview").click()
    table = ion_row.locator(".ex-preview-table")
    table.wait_for()
    assert table.locator("thead th").all_text_contents() == ["id", "name"]  # shown upper-case by CSS
    assert table.locator("tbody tr").nth(0).locator("td").all_inner_texts() == [
        "1", '<img src=x onerror="window.__xss=1">']
    assert table.locator("tbody tr").nth(1).locator("td").all_inner_texts() == ["2", "bob"]
    link = ion_row.get_by_role("link", name="Download")
    assert "/file?path=kestra%3A%2F%2F%2F" in (link.get_attribute("href") or "")
    assert page.evaluate("() => window.__xss") is None
    page.screenshot(path=str(artifacts / "outputs-preview.png"))
