"""The islands in a real browser: the editor validates, saves, survives a conflict; topology draws.

These drive Debian's Chromium through Playwright against pytest-django's live server, with the
built front end (`cd frontend && npm run build`). They are skipped, loudly, when either is missing.
Playwright's sync API runs an event loop in this thread while a browser is open, and Django
refuses synchronous queries under a running loop: so each test opens its own browser after its
data exists and closes it before the database is flushed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.flows import services

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(settings.WEIR_FRONTEND_MANIFEST).exists(),
                       reason="front end not built: cd frontend && npm install && npm run build"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (apt-get install chromium)"),
]

FLOW = """\
id: pipeline
namespace: acme.ui
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


@pytest.fixture
def browser(live_server: Any, admin_user: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def _editor_text(page: Any) -> str:
    """The whole document (CodeMirror renders only visible lines, so ask its state)."""
    return str(page.evaluate("() => document.querySelector('[data-island=yaml-editor]').editorView.state.doc.toString()"))


def _replace_all(page: Any, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def _status(page: Any, kinds: str = "valid invalid unknown") -> str:
    page.wait_for_function(
        f"() => {json.dumps(kinds.split())}.includes(document.querySelector('.we-status')?.dataset.kind)",
        timeout=15000)
    return str(page.locator(".we-status").inner_text())


def test_new_flow_is_created_then_updated_from_the_editor(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/flows/new/?namespace=acme.ui")
    _status(page)
    _replace_all(page, FLOW)
    assert _status(page) == "Valid"
    page.wait_for_selector(".we-topology .wt-node[data-uid='root.fanout']")

    page.keyboard.press("Control+s")
    page.wait_for_url(f"{live_server.url}/flows/acme.ui/pipeline/edit/")
    assert page.locator(".we-revision").inner_text() == "revision 1"
    assert page.locator(".we-dirty").is_hidden()

    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  - id: last\n    type: io.kestra.plugin.core.log.Log\n    message: bye\n")
    assert page.locator(".we-dirty").is_visible()
    page.click(".we-save")
    page.wait_for_function("() => document.querySelector('.we-revision').textContent === 'revision 2'")
    saved = page.request.get(f"{live_server.url}/api/v1/flows/acme.ui/pipeline").json()
    assert saved["revision"] == 2 and "id: last" in saved["source"]

    # Clicking a task in the preview puts the cursor on its `id:` line.
    page.locator(".we-topology .wt-node[data-uid='root.fanout.right']").click()
    line = page.evaluate(
        "() => { const v = document.querySelector('[data-island=yaml-editor]').editorView;"
        " return v.state.doc.lineAt(v.state.selection.main.head).text; }")
    assert line.strip() == "- id: right"


def test_validation_errors_are_marked_at_their_line_and_listed(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/flows/new/")
    _status(page)
    _replace_all(page, FLOW.replace("io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.log.Lgo"))
    assert _status(page) == "1 problem"
    problem = page.locator(".we-problem--error").first
    assert "Lgo" in problem.inner_text() and "Ln 5" in problem.inner_text()
    assert page.locator(".cm-lintRange-error").count() == 1
    assert page.locator(".wt-topology--stale").count() == 1  # the preview says it is out of date

    page.keyboard.press("Control+Home")
    problem.locator("button").click()
    cursor_line = page.evaluate(
        "() => { const v = document.querySelector('[data-island=yaml-editor]').editorView;"
        " return v.state.doc.lineAt(v.state.selection.main.head).number; }")
    assert cursor_line == 5

    page.keyboard.press("Control+s")  # the server refuses it: the banner says so, text is kept
    page.wait_for_selector(".we-banner[data-tone=error]")
    assert "Lgo" in _editor_text(page)


def test_a_stale_save_keeps_the_text_and_explains(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/flows/new/")
    _status(page)
    _replace_all(page, FLOW)
    _status(page)
    page.keyboard.press("Control+s")
    page.wait_for_url(f"{live_server.url}/flows/acme.ui/pipeline/edit/")

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    other = page.request.put(f"{live_server.url}/api/v1/flows/acme.ui/pipeline", data=FLOW.replace("one", "someone else"),
                             headers={"Content-Type": "application/x-yaml", "If-Match": '"1"',
                                      "X-CSRFToken": csrf, "Referer": live_server.url + "/"})
    assert other.status == 200

    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("# my change\n")
    page.keyboard.press("Control+s")
    banner = page.wait_for_selector(".we-banner[data-tone=warn]")
    assert "changed since you opened it" in banner.inner_text()
    assert "latest is revision 2" in banner.inner_text()
    assert "# my change" in _editor_text(page)

    page.get_by_role("button", name="Save mine anyway").click()
    page.wait_for_function("() => document.querySelector('.we-revision').textContent === 'revision 3'")
    assert "# my change" in page.request.get(f"{live_server.url}/api/v1/flows/acme.ui/pipeline").json()["source"]


@pytest.fixture
def saved_flow(admin_user: Any) -> Any:
    return services.create_flow(admin_user, FLOW)


def test_flow_page_draws_the_topology(saved_flow: Any, browser: Any, live_server: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/login/?next=/flows/acme.ui/pipeline/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]")
    page.wait_for_selector(".wt-node")
    uids = page.eval_on_selector_all(".wt-node[data-uid]", "els => els.map(e => e.dataset.uid)")
    assert {"root.first", "root.fanout", "root.fanout.left", "root.fanout.right"} <= set(uids)
    assert page.locator(".wt-cluster").count() == 1
    context.close()
