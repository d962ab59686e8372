"""Namespace pages in Chromium: the tree, a namespace's settings, granting a role, inviting
someone (the link shown without a mail server) and redeeming it as a new user; a READ user sees
no Edit or Execute button. Screenshots go to $WEIR_SCREENSHOTS (default /tmp/weir-h1-shots)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.flows import services as flows
from apps.namespaces.models import Binding, Namespace, Role

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("WEIR_SCREENSHOTS", "/tmp/weir-h1-shots"))
FLOW = "id: report\nnamespace: acme.sales\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (apt-get install chromium)"),
]


@pytest.fixture
def world(admin_user: Any, django_user_model: Any, settings: Any) -> None:
    """Written before the browser starts: Playwright's loop forbids the ORM in its thread."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "localhost"
    flows.create_flow(admin_user, FLOW)
    flows.create_flow(admin_user, FLOW.replace("acme.sales", "acme.ops.eu"))
    Namespace.objects.filter(name="acme").update(
        description="The **ACME** company. <img src=x onerror=window.__xss=1>", variables={"region": "eu"})
    viewer = django_user_model.objects.create_user("vera", password="vera-password")
    Binding.objects.create(user=viewer, namespace="acme.sales", role=Role.READ)
    django_user_model.objects.create_user("ann", password="ann-password")


def _browser() -> Any:
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _login(p: Any, base: str, username: str, password: str) -> tuple[Any, Any, list[str]]:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_context(viewport={"width": 1300, "height": 820}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return browser, page, errors


@pytest.fixture
def base(world: None, live_server: Any) -> Iterator[str]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield live_server.url


def test_an_owner_manages_members_and_an_invitee_joins(base: str) -> None:
    with _browser() as p:
        browser, page, errors = _login(p, base, "admin", "password")
        page.goto(f"{base}/namespaces/")
        tree = page.locator("[data-ns-tree]").inner_text()
        assert all(n in tree for n in ("acme", "acme.sales", "acme.ops", "acme.ops.eu"))
        page.screenshot(path=str(SHOTS / "namespaces-tree.png"), full_page=True)

        page.click("a:text-is('acme')")
        page.wait_for_selector("h1:text-is('acme')")
        assert page.evaluate("() => window.__xss") is None
        assert '"region": "eu"' in page.locator("[data-inherited-variables]").inner_text()
        page.fill("#ns-variables", '{"region": "us", "tier": 1}')
        page.click("button:text-is('Save')")
        page.wait_for_selector("text=Namespace saved.")
        page.screenshot(path=str(SHOTS / "namespace-detail.png"), full_page=True)

        page.goto(f"{base}/namespaces/acme.sales/members/")
        page.fill("#m-name", "ann")
        page.select_option("#m-role", "EXECUTE")
        page.click("button:text-is('Grant')")
        page.wait_for_selector("[data-member='user/ann']")
        page.fill("#i-email", "newbie@example.com")
        page.select_option("#i-role", "WRITE")
        page.click("button:text-is('Invite')")
        link = page.locator("[data-invite-link]").input_value()
        assert "/invitations/" in link
        page.screenshot(path=str(SHOTS / "namespace-members.png"), full_page=True)
        browser.close()
        assert errors == []

        guest = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        invited = guest.new_context(viewport={"width": 1000, "height": 760}).new_page()
        invited.goto(link)
        invited.screenshot(path=str(SHOTS / "invitation.png"), full_page=True)
        invited.fill("#id_username", "newbie")
        invited.fill("#id_password1", "a-long-pass-123")
        invited.fill("#id_password2", "a-long-pass-123")
        invited.click("button:has-text('Create account and accept')")
        invited.wait_for_url(f"{base}/namespaces/acme.sales/")
        assert "WRITE on acme.sales" in invited.locator(".messages").inner_text()
        guest.close()


def test_a_reader_sees_no_edit_or_execute_button(base: str) -> None:
    with _browser() as p:
        browser, page, errors = _login(p, base, "vera", "vera-password")
        page.goto(f"{base}/flows/acme.sales/report/")
        actions = page.locator(".page-actions").inner_text()
        assert "Executions" in actions and "Edit" not in actions and "Execute" not in actions
        page.screenshot(path=str(SHOTS / "flow-as-reader.png"), full_page=True)
        assert page.goto(f"{base}/flows/acme.ops.eu/report/").status == 404
        page.goto(f"{base}/namespaces/")
        assert page.locator("[data-ns-tree]").inner_text().split() == ["acme.sales"]
        assert page.goto(f"{base}/namespaces/acme.sales/members/").status == 403
        browser.close()
        assert errors == []
