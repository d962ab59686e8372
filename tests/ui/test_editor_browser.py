"""The flow page's topology island in a real browser (the editor's own browser tests live in
tests/browser/test_editor_*.py).

These drive Debian's Chromium through Playwright against pytest-django's live server, with the
built front end (`cd frontend && npm run build`). They are skipped, loudly, when either is missing.
Playwright's sync API runs an event loop in this thread while a browser is open, and Django
refuses synchronous queries under a running loop: so each test opens its own browser after its
data exists and closes it before the database is flushed.
"""

from __future__ import annotations

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
