"""A very long flow on the execution page: its topology wraps into lines, and "Fit" puts the
whole graph inside the viewport at 1280x800 and at 1024x768 (it used to run off the right edge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.flows import services as flow_services

pytestmark = [pytest.mark.browser]


def _long_flow(n: int) -> str:
    lines = ["id: long", "namespace: acme.topology", "tasks:"]
    for i in range(1, n + 1):
        lines += [f"  - id: step_{i:03d}", "    type: io.kestra.plugin.core.log.Log", f"    message: step {i}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1024, 768)])
def test_fit_shows_a_150_task_execution_topology_whole(page: Any, asgi_server: Any, admin: Any, artifacts: Path,
                                                       width: int, height: int) -> None:
    flow_services.create_flow(admin, _long_flow(150))
    # Not started: the topology is the point here, not 150 runs.
    execution_id = ex_services.create_execution("acme.topology", "long", start=False).id
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{asgi_server.url}/executions/{execution_id}/")
    page.wait_for_function("() => document.querySelectorAll('g.wt-node[data-uid]').length >= 150", timeout=30_000)
    page.locator(".wt-tool", has_text="Fit").click()
    page.locator(".wt-viewport").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    page.screenshot(path=str(artifacts / f"execution_topology_{width}x{height}.png"))
    boxes = page.evaluate("""() => {
      const view = document.querySelector('.wt-viewport').getBoundingClientRect();
      const graph = document.querySelector('.wt-scene').getBoundingClientRect();
      return {view: [view.left, view.top, view.right, view.bottom], graph: [graph.left, graph.top, graph.right, graph.bottom],
              window: [window.innerWidth, window.innerHeight]};
    }""")
    (vl, vt, vr, vb), (gl, gt, gr, gb) = boxes["view"], boxes["graph"]
    assert vl - 1 <= gl and gr <= vr + 1 and vt - 1 <= gt and gb <= vb + 1, boxes
    # Scrolled to, the topology is inside the window, so the whole graph is on screen.
    win_w, win_h = boxes["window"]
    assert vt >= -1 and vl >= -1 and vb <= win_h + 1 and vr <= win_w + 1, boxes
    # Readable enough to be a picture of the flow, not a strip: the graph uses the viewport's room.
    assert (gr - gl) * (gb - gt) >= 0.25 * (vr - vl) * (vb - vt), boxes
