"""The KV store page of a namespace in Chromium: set typed values (one with an expiry), see
them listed with their types, a refused value explained, delete one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.cli.devserver import ServerThread
from apps.executions.records import kvstore

pytestmark = [pytest.mark.browser]
NS = "acme.kvpage"


def _set(page: Any, key: str, value: str, kind: str = "AUTO", ttl: str = "") -> None:
    page.fill("#kv-key", key)
    page.select_option("#kv-type", kind)
    page.fill("#kv-value", value)
    page.fill("#kv-ttl", ttl)
    page.click("[data-kv-form] button[type=submit]")
    page.wait_for_load_state()


def test_kv_page_sets_lists_and_deletes(page: Any, asgi_server: ServerThread, admin: Any, artifacts: Path) -> None:
    kvstore.put(NS, "from_a_flow", {"rows": [1, 2]}, kind="JSON")
    page.goto(f"{asgi_server.url}/namespaces/{NS}/kv/")
    assert page.locator("[data-kv-key=from_a_flow] td").nth(1).inner_text() == "JSON"

    _set(page, "retries", "3")
    _set(page, "since", "2024-05-01T10:00:00Z", ttl="PT1H")
    _set(page, "label", "hello world", kind="STRING")
    _set(page, "broken", "not a number", kind="NUMBER")
    assert "is not a valid NUMBER" in page.locator(".alert-error").inner_text()

    kinds = {row.get_attribute("data-kv-key"): row.locator("td").nth(1).inner_text()
             for row in page.locator("[data-kv-key]").all()}
    assert kinds == {"from_a_flow": "JSON", "label": "STRING", "retries": "NUMBER", "since": "DATETIME"}
    assert "never" not in page.locator("[data-kv-key=since] td").nth(3).inner_text()
    assert kvstore.get(NS, "retries") == (True, 3)
    page.screenshot(path=str(artifacts / "kv-page.png"), full_page=True)

    page.click("[data-kv-key=label] button[name=delete]")
    page.wait_for_load_state()
    assert page.locator("[data-kv-key=label]").count() == 0
    assert kvstore.get(NS, "label") == (False, None)
