"""Pasted work is never lost: YAML that does not validate is saved as a draft, reopens with the
flow, cannot be executed, shows as "draft · invalid" in the list, and goes once a valid save fixes it
(docs/adr/0026)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.flows import services
from apps.flows.models import Flow, FlowDraft

from .test_editor_canvas import _ready, _set_text, _text
from .test_editor_trust import _fully_visible

pytestmark = [pytest.mark.browser]

VALID = """\
id: pasted
namespace: acme.drafts
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
PASTED = VALID + """\
  - id: query
    type: io.kestra.plugin.snowflake.Query
    sql: SELECT 1
"""


def _status(page: Any, text: str) -> None:
    page.wait_for_function("(t) => document.querySelector('.we-status')?.textContent.includes(t)", arg=text,
                           timeout=15_000)


def test_a_new_flow_with_an_unknown_type_is_saved_as_a_draft_and_reopens(page: Any, asgi_server: Any,
                                                                        artifacts: Path) -> None:
    url = asgi_server.url
    page.goto(f"{url}/flows/new/?namespace=acme.drafts")
    _ready(page)
    _set_text(page, PASTED)
    _status(page, "problem")
    page.click(".we-save")
    page.wait_for_selector(".fe-banner[data-tone=error]")
    page.screenshot(path=str(artifacts / "not_saved.png"))
    page.click(".we-save-draft")
    _status(page, "Draft saved")
    draft = FlowDraft.objects.get(namespace="acme.drafts", flow_id="pasted")
    assert draft.source == PASTED and any("snowflake.Query" in e["message"] for e in draft.errors)
    assert not Flow.objects.exists()
    assert page.evaluate("() => location.pathname") == "/flows/acme.drafts/pasted/edit/"

    # The list shows it; opening it brings the draft text back.
    page.goto(f"{url}/")
    row = page.locator(".draft-list li", has_text="pasted")
    assert "draft · invalid" in row.inner_text()
    row.locator("a.flow-link").click()
    _ready(page)
    assert _text(page) == PASTED
    assert "invalid draft" in page.locator(".we-draft").inner_text()
    assert "acme.drafts / pasted / Draft" in " ".join(page.locator("nav.breadcrumbs").inner_text().split())
    assert page.locator(".fe-identity").inner_text().replace("\n", "") == "acme.drafts/pasted"
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "draft_reopened.png"))

    # Fixing it and saving makes a real flow and removes the draft.
    _set_text(page, VALID)
    _status(page, "Valid")
    page.click(".we-save")
    _status(page, "Saved · revision 1")
    assert not FlowDraft.objects.exists()
    assert page.locator(".we-draft").count() == 0


def test_a_draft_of_a_saved_flow_blocks_execute_until_discarded(page: Any, asgi_server: Any, admin: Any) -> None:
    url = asgi_server.url
    services.create_flow(admin, VALID)
    page.goto(f"{url}/flows/acme.drafts/pasted/edit/")
    _ready(page)
    _set_text(page, PASTED)
    _status(page, "problem")
    page.click(".we-save-draft")
    _status(page, "Draft saved")
    assert page.locator(".we-execute").is_disabled()
    assert Flow.objects.get(flow_id="pasted").revision == 1

    page.goto(f"{url}/")
    flow_row = page.locator("tr", has_text="acme.drafts")
    assert "draft · invalid" in flow_row.inner_text()
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(f"{url}/api/v1/executions/acme.drafts/pasted", headers={"X-CSRFToken": token})
    assert refused.status == 409, refused.text()
    page.goto(f"{url}/flows/acme.drafts/pasted/execute/")
    assert "invalid draft" in page.locator(".we-draft-alert").inner_text()

    page.goto(f"{url}/flows/acme.drafts/pasted/edit/")
    _ready(page)
    assert _text(page) == PASTED
    page.click(".fe-discard-draft")
    page.wait_for_function("(t) => document.querySelector('[data-island=flow-editor]').editorView"
                           ".state.doc.toString() === t", arg=VALID, timeout=10_000)
    assert not FlowDraft.objects.exists()
    assert page.locator(".we-execute").get_attribute("href")


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (800, 700)])
def test_save_as_draft_fits_narrow_windows(page: Any, asgi_server: Any, artifacts: Path, width: int,
                                           height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.drafts")
    _ready(page)
    _set_text(page, PASTED)
    _status(page, "problem")
    page.wait_for_selector(".we-save-draft")
    page.screenshot(path=str(artifacts / f"toolbar_{width}.png"))
    for sel in (".we-save-draft", ".we-save", ".we-status"):
        assert _fully_visible(page, sel), f"{sel} is clipped at {width}px"
