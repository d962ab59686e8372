"""The secrets and audit pages in Chromium: set a secret through the form, see its name (never its
value) listed, then find the change in the audit log, where hostile text stays inert
(RELIABILITY.md §4 row 30). Screenshots go to $WEIR_SCREENSHOTS (default /tmp/weir-h2-shots)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.audit.services import record

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("WEIR_SCREENSHOTS", "/tmp/weir-h2-shots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (apt-get install chromium)"),
]


@pytest.fixture
def hostile_event(admin_user: Any) -> None:
    """Written before the browser starts: Playwright's loop forbids the ORM in its thread."""
    record(admin_user, "flow.create", namespace="acme.data", target_type="flow",
           target_id="<img src=x onerror=window.__xss=1>")


@pytest.fixture
def page(hostile_event: None, live_server: Any, admin_user: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        yield page
        context.close()
        browser.close()
        assert errors == [], f"JavaScript errors: {errors}"


def test_set_a_secret_then_find_it_in_the_audit_log(page: Any, live_server: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/namespaces/acme.data/secrets/")
    page.fill("#secret-key", "db_password")
    page.fill("#secret-value", "pa55-w0rd-value")
    page.fill("#secret-description", "warehouse login")
    page.click("button:has-text('Save secret')")
    page.wait_for_selector("text=Secret DB_PASSWORD created.")
    body = page.locator("main").inner_text()
    assert "DB_PASSWORD" in body and "warehouse login" in body and "pa55-w0rd-value" not in page.content()
    page.screenshot(path=str(SHOTS / "secrets.png"), full_page=True)

    page.goto(f"{live_server.url}/audit/?namespace=acme")
    page.wait_for_selector("text=secret.create")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert page.evaluate("() => window.__xss") is None
    assert "pa55-w0rd-value" not in page.content()
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
