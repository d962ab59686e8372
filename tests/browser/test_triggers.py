"""Schedules in Chromium: a Schedule added from the editor's palette shows its cron in words and
next slots under its form and is saved under `triggers:`; on the Triggers page it is disabled
with its switch, and a backfill started from the dialog shows its progress as the scheduler walks
the slots (driven here by `run_backfills`, the scheduler's own step).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.triggers import scheduler
from apps.triggers.models import TriggerState

pytestmark = [pytest.mark.browser]

FLOW = "id: morning\nnamespace: acme.trig\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def _text(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('[data-island=flow-editor]').editorView.state.doc.toString()"))


def test_schedule_from_palette_then_disable_and_backfill(page: Any, asgi_server: Any, artifacts: Path) -> None:
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.trig")
    page.wait_for_function("() => document.querySelector('[data-island=flow-editor]')?.dataset.layout === 'ready'",
                           timeout=20_000)
    page.evaluate("""(t) => { const v = document.querySelector('[data-island=flow-editor]').editorView;
      v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: t}}); }""", FLOW)

    # The palette offers trigger types; + appends the Schedule under `triggers:` and selects it.
    page.fill(".fe-search", "Schedule")
    page.locator(".fe-palette-item[data-type='io.kestra.plugin.core.trigger.Schedule'] .fe-add").click()
    page.wait_for_selector(".react-flow__node[data-id='t:schedule']", timeout=10_000)
    page.wait_for_function("() => document.querySelector('.fe-form h2')?.textContent === 'schedule'")
    for field, value in (("cron", "0 9 * * 1-5"), ("timezone", "Europe/Paris")):
        box = page.locator(f".fe-form [data-field='{field}'] input").first
        box.fill(value)
        box.press("Tab")
    page.wait_for_function("() => document.querySelector('[data-cron-words]')?.textContent"
                           " === 'At 09:00, Monday through Friday (Europe/Paris)'", timeout=10_000)
    slots = page.locator(".fe-next-slots li time").all_inner_texts()
    assert len(slots) == 5 and all(" 09:00:00+0" in s for s in slots), slots
    page.screenshot(path=str(artifacts / "editor.png"))
    trigger = yaml.safe_load(_text(page))["triggers"][0]
    assert trigger == {"id": "schedule", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "0 9 * * 1-5",
                       "timezone": "Europe/Paris"}
    page.wait_for_function("() => document.querySelector('.we-status')?.dataset.kind === 'valid'", timeout=15_000)
    page.keyboard.press("Control+s")
    page.wait_for_url(f"{asgi_server.url}/flows/acme.trig/morning/edit/")

    # The Triggers page: cron in words, the switch turns it off.
    page.goto(f"{asgi_server.url}/triggers/?namespace=acme.trig")
    row = page.locator("tr[data-trigger='acme.trig/morning/schedule']")
    assert "At 09:00, Monday through Friday (Europe/Paris)" in row.inner_text()
    row.locator("[data-toggle]").click()
    page.wait_for_selector("tr[data-trigger='acme.trig/morning/schedule'] [data-toggle][aria-checked='false']")
    assert TriggerState.objects.get(flow_id="morning").disabled

    # A backfill of 30 weekday slots from the dialog; its progress bar follows the scheduler.
    row = page.locator("tr[data-trigger='acme.trig/morning/schedule']")
    row.locator("[data-open-dialog]").click()
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=start]").fill("2025-01-06T00:00:00+01:00")
    dialog.locator("input[name=end]").fill("2025-02-14T23:00:00+01:00")
    dialog.locator("input[name=labels]").fill("origin:browser")
    dialog.locator("button[value=backfill]").click()
    page.wait_for_selector("text=Backfill of schedule started.")
    text = page.locator("tr[data-trigger='acme.trig/morning/schedule'] [data-backfill-text]")
    assert text.inner_text() == "0/30"
    for step in (10, 20, 30):
        scheduler.run_backfills(datetime.now(UTC), per_row=10)
        expected = f"{step}/30" + (" · done" if step == 30 else "")
        page.wait_for_function(
            "(want) => document.querySelector(\"tr[data-trigger='acme.trig/morning/schedule'] [data-backfill-text]\")"
            "?.textContent === want", arg=expected, timeout=10_000)
        value = page.locator("tr[data-trigger='acme.trig/morning/schedule'] progress").get_attribute("value")
        assert round(float(value or 0)) == round(100 * step / 30)
        page.screenshot(path=str(artifacts / f"backfill-{step}.png"))
