"""Site-wide pages in Chromium: the API docs offline inside the site frame, and the theme switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser]


def test_api_docs_work_offline_with_the_site_navigation(page: Any, asgi_server: Any, artifacts: Path) -> None:
    local = urlparse(asgi_server.url).netloc
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if urlparse(route.request.url).netloc == local:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{asgi_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Weir API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".topbar nav a[aria-current=page]").inner_text() == "API docs"
    page.screenshot(path=str(artifacts / "api_docs.png"))
    assert outside == []


def _background(page: Any) -> str:
    return str(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))


def test_the_theme_switch_is_site_wide_and_remembered(page: Any, asgi_server: Any, artifacts: Path) -> None:
    page.emulate_media(color_scheme="light")
    page.goto(f"{asgi_server.url}/")
    light = _background(page)
    page.locator("[data-theme-toggle]").click()
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    dark = _background(page)
    assert dark != light
    # Remembered on the next page, the editor included (its panes and the page around them).
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.theme")
    page.wait_for_selector(".fe-root.fe-dark")
    assert _background(page) == dark
    page.screenshot(path=str(artifacts / "editor_dark.png"))
    # Switched back from the editor: the editor follows at once.
    page.locator("[data-theme-toggle]").click()
    page.wait_for_selector(".fe-root:not(.fe-dark)")
    assert _background(page) == light


def test_the_theme_defaults_to_the_system_choice(page: Any, asgi_server: Any) -> None:
    page.emulate_media(color_scheme="dark")
    page.evaluate("() => localStorage.removeItem('weir.theme')")
    page.goto(f"{asgi_server.url}/")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    assert page.locator("[data-theme-toggle]").get_attribute("aria-pressed") == "true"
