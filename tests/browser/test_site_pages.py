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
