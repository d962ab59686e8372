"""The flow editor's YAML side in Chromium: create then update a flow by typing, server
validation shown in the gutter and on the node, a stale save that shows both versions and loses
nothing, and the revisions page with its side-by-side diff and restore.

Uses H3's `asgi_server`, `page` and `artifacts` fixtures (tests/browser/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.flows import services

pytestmark = [pytest.mark.browser]

FLOW = """\
id: pipeline
namespace: acme.code
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: fanout
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.debug.Return
        format: l
      - id: right
        type: io.kestra.plugin.core.debug.Return
        format: r
"""


def _text(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('[data-island=flow-editor]').editorView.state.doc.toString()"))


def _replace_all(page: Any, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def _status(page: Any, kinds: str = "valid invalid unknown") -> str:
    page.wait_for_function(
        f"() => {json.dumps(kinds.split())}.includes(document.querySelector('.we-status')?.dataset.kind)",
        timeout=15_000)
    return str(page.locator(".we-status").inner_text())


def test_a_typed_flow_is_created_then_updated(page: Any, asgi_server: Any) -> None:
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.code")
    _status(page)
    _replace_all(page, FLOW)
    assert _status(page) == "Valid"
    page.wait_for_selector(".fe-task[data-task-id=right]")  # the canvas follows the typing

    page.keyboard.press("Control+s")
    page.wait_for_url(f"{asgi_server.url}/flows/acme.code/pipeline/edit/")
    page.wait_for_function("() => document.querySelector('.we-revision')?.textContent === 'revision 1'")
    page.wait_for_selector(".we-dirty", state="hidden")

    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  - id: last\n    type: io.kestra.plugin.core.log.Log\n    message: bye\n")
    page.wait_for_selector(".we-dirty", state="visible")
    page.wait_for_selector(".fe-task[data-task-id=last]")
    page.click(".we-save")
    page.wait_for_function("() => document.querySelector('.we-revision').textContent === 'revision 2'")
    saved = page.request.get(f"{asgi_server.url}/api/v1/flows/acme.code/pipeline").json()
    assert saved["revision"] == 2 and saved["source"] == _text(page)

    # Double-clicking a node puts the cursor on its `id:` line.
    page.locator(".react-flow__node[data-id='t:right']").dblclick()
    cursor_line = ("() => { const v = document.querySelector('[data-island=flow-editor]').editorView;"
                   " return v.state.doc.lineAt(v.state.selection.main.head).text.trim(); }")
    page.wait_for_function(f"() => ({cursor_line})() === '- id: right'", timeout=10_000)
    assert page.evaluate(cursor_line) == "- id: right"


def test_validation_errors_mark_the_gutter_and_the_node(page: Any, asgi_server: Any, artifacts: Path) -> None:
    page.goto(f"{asgi_server.url}/flows/new/")
    _status(page)
    _replace_all(page, FLOW.replace("format: r\n", "format: r\n        level: LOUD\n"))
    assert _status(page) == "1 problem"
    assert page.locator(".cm-lintRange-error").count() == 1
    page.wait_for_selector(".fe-task[data-task-id=right] .fe-node-error")
    assert page.locator(".fe-node-error").count() == 1
    badge = page.locator(".fe-task[data-task-id=right] .fe-node-error")
    assert "level" in str(badge.get_attribute("title"))
    page.screenshot(path=str(artifacts / "problems.png"))
    page.keyboard.press("Control+s")  # the server refuses it: the banner says so, the text is kept
    page.wait_for_selector(".we-banner[data-tone=error]")
    assert "LOUD" in _text(page)


def test_a_stale_save_shows_both_versions_and_loses_nothing(page: Any, asgi_server: Any, admin: Any,
                                                           artifacts: Path) -> None:
    services.create_flow(admin, FLOW)
    page.goto(f"{asgi_server.url}/flows/acme.code/pipeline/edit/")
    _status(page)
    services.update_flow(admin, "acme.code", "pipeline", FLOW.replace("message: one", "message: theirs"))

    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("# my change\n")
    page.keyboard.press("Control+s")
    panel = page.wait_for_selector(".fe-conflict")
    assert "latest is revision 2" in panel.inner_text()
    assert "# my change" in page.locator(".fe-conflict-pane").nth(0).inner_text()
    assert "message: theirs" in page.locator(".fe-conflict-pane").nth(1).inner_text()
    assert "# my change" in _text(page)
    page.screenshot(path=str(artifacts / "conflict.png"))

    page.get_by_role("button", name="Load theirs (keep mine here)").click()
    page.wait_for_function("() => document.querySelector('.we-revision').textContent === 'revision 2'")
    assert "message: theirs" in _text(page)
    assert "# my change" in page.locator(".fe-conflict-pane").nth(0).inner_text()  # still visible

    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("# my change\n")
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.querySelector('.we-revision').textContent === 'revision 3'")
    source = page.request.get(f"{asgi_server.url}/api/v1/flows/acme.code/pipeline").json()["source"]
    assert "message: theirs" in source and "# my change" in source


def test_revisions_page_diffs_side_by_side_and_restores(page: Any, asgi_server: Any, admin: Any,
                                                        artifacts: Path) -> None:
    services.create_flow(admin, FLOW)
    services.update_flow(admin, "acme.code", "pipeline", FLOW.replace("message: one", "message: two"))
    page.goto(f"{asgi_server.url}/flows/acme.code/pipeline/revisions/")
    old = page.locator(".rev-diff td.rev-old")
    new = page.locator(".rev-diff td.rev-new")
    assert old.count() == 1 and "message: one" in old.inner_text()
    assert new.count() == 1 and "message: two" in new.inner_text()
    page.screenshot(path=str(artifacts / "revisions.png"))

    page.get_by_role("button", name="Restore revision 1 as a new revision").click()
    page.wait_for_selector(".rev-item.is-current >> text=#3")
    flow = services.get_flow(admin, "acme.code", "pipeline")
    assert flow.revision == 3 and flow.source == FLOW

    missing = page.request.get(f"{asgi_server.url}/flows/acme.code/pipeline/revisions/?left=99")
    assert missing.status == 404
