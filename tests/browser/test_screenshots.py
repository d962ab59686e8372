"""Screenshots of the three pages a new user meets first — the flow list, the editor and an
execution — at 1280x800 and 1024x768, light and dark, kept under var/artifacts/ to look at. Each
must fit the window's width (no page-level horizontal scroll) in every combination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.flows import drafts
from apps.flows import services as flow_services

pytestmark = [pytest.mark.browser]

FLOW = """\
id: tour
namespace: acme.tour
description: A small tour of the editor.
tasks:
  - id: start
    type: io.kestra.plugin.core.log.Log
    message: starting
  - id: fanout
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.debug.Return
        format: left
      - id: right
        type: io.kestra.plugin.core.debug.Return
        format: right
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - id: agreed
        type: io.kestra.plugin.core.log.Log
        message: "yes"
    else:
      - id: refused
        type: io.kestra.plugin.core.log.Log
        message: "no"
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.left.value }}"
"""

SIZES = [(1280, 800), (1024, 768)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"))


def test_screenshots_of_list_editor_and_execution(page: Any, asgi_server: Any, admin: Any, artifacts: Path) -> None:
    flow_services.create_flow(admin, FLOW)
    flow_services.create_flow(admin, FLOW.replace("id: tour", "id: second_tour"))
    # A pending draft of a saved flow, and a flow that exists only as a draft (both listed).
    unknown = "  - id: query\n    type: io.kestra.plugin.snowflake.Query\n    sql: SELECT 1\n"
    drafts.save_draft(admin, FLOW.replace("id: tour", "id: second_tour") + unknown)
    drafts.save_draft(admin, FLOW.replace("id: tour", "id: pasted_tour") + unknown)
    execution_id = str(ex_services.create_execution("acme.tour", "tour").id)
    url = asgi_server.url
    page.goto(f"{url}/executions/{execution_id}/")
    page.wait_for_function("() => document.querySelector('[data-execution-state]')?.dataset.executionState === 'SUCCESS'",
                           timeout=30_000)
    problems = []
    for theme in ("light", "dark"):
        page.evaluate("(t) => localStorage.setItem('weir.theme', t)", theme)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            tag = f"{width}x{height}_{theme}"
            page.goto(f"{url}/")
            page.wait_for_selector("table")
            page.screenshot(path=str(artifacts / f"flows_{tag}.png"))
            problems += [] if _fits(page) else [f"flows {tag}"]

            page.goto(f"{url}/flows/acme.tour/tour/edit/")
            page.wait_for_function("() => document.querySelector('[data-island=flow-editor]')?.dataset.layout === 'ready'")
            page.wait_for_selector(".fe-palette-item[data-type$='flow.Parallel']")
            page.wait_for_function("() => document.querySelector('.we-status')?.dataset.kind === 'valid'", timeout=15_000)
            page.wait_for_timeout(400)
            page.screenshot(path=str(artifacts / f"editor_{tag}.png"))
            problems += [] if _fits(page) else [f"editor {tag}"]

            page.goto(f"{url}/executions/{execution_id}/")
            page.wait_for_selector("g.wt-node[data-uid]")
            page.wait_for_timeout(400)
            page.screenshot(path=str(artifacts / f"execution_{tag}.png"))
            problems += [] if _fits(page) else [f"execution {tag}"]
    assert problems == [], f"wider than the window: {problems}"
