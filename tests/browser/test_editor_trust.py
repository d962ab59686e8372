"""The editor a new user trusts: what a first session in Chromium broke, one test per problem.

Each test drives the editor as a user would (keyboard, mouse, palette drags) and checks what the
page or the stored flow says afterwards. Screenshots go to var/artifacts/<test>/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.flows import services

from .test_editor_canvas import _drag_type, _node, _ready, _select, _set_text, _text, _wait_tasks

pytestmark = [pytest.mark.browser]

SMALL = """\
id: small
namespace: acme.trust
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: two
  - id: third
    type: io.kestra.plugin.core.log.Log
    message: three
"""


def _open(page: Any, url: str, admin: Any, source: str = SMALL) -> None:
    services.create_flow(admin, source)
    flow = yaml.safe_load(source)
    page.goto(f"{url}/flows/{flow['namespace']}/{flow['id']}/edit/")
    _ready(page)


def _stored(page: Any, url: str, ns: str, flow_id: str) -> dict[str, Any]:
    return dict(page.request.get(f"{url}/api/v1/flows/{ns}/{flow_id}").json())


def test_ctrl_s_in_a_form_field_saves_the_edit(page: Any, asgi_server: Any, admin: Any) -> None:
    _open(page, asgi_server.url, admin)
    _select(page, "second")
    field = page.locator(".fe-form [data-field='message'] input").first
    field.click()
    field.fill("typed but not committed")
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.querySelector('.we-revision')?.textContent.trim() === 'revision 2'",
                           timeout=15_000)
    stored = yaml.safe_load(_stored(page, asgi_server.url, "acme.trust", "small")["source"])
    assert stored["tasks"][1]["message"] == "typed but not committed"
    assert "typed but not committed" in _text(page)


def test_a_flowable_from_the_palette_takes_children(page: Any, asgi_server: Any) -> None:
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.trust")
    _ready(page)
    _set_text(page, "id: fresh\nnamespace: acme.trust\ntasks: []\n")
    _wait_tasks(page, 0)
    _drag_type(page, "flow.Parallel", page.locator(".react-flow__pane"))
    page.wait_for_selector(".fe-group[data-task-id=parallel]")
    _ready(page)
    flow = yaml.safe_load(_text(page))
    assert flow["tasks"][0]["type"] == "io.kestra.plugin.core.flow.Parallel"
    assert flow["tasks"][0]["tasks"] == []
    group = page.locator(".fe-group[data-task-id=parallel]")
    box = group.bounding_box()
    _drag_type(page, "log.Log", group, {"x": box["width"] / 2, "y": box["height"] * 0.7})
    page.wait_for_selector(".fe-task[data-task-id=log]")
    flow = yaml.safe_load(_text(page))
    assert len(flow["tasks"]) == 1
    assert [t["id"] for t in flow["tasks"][0]["tasks"]] == ["log"]


def test_undo_works_right_after_delete(page: Any, asgi_server: Any, admin: Any) -> None:
    _open(page, asgi_server.url, admin)
    _select(page, "second")
    page.keyboard.press("Delete")
    page.wait_for_selector(".fe-task[data-task-id=second]", state="detached")
    page.keyboard.press("Control+z")
    page.wait_for_selector(".fe-task[data-task-id=second]", timeout=5_000)
    page.keyboard.press("Control+Shift+z")
    page.wait_for_selector(".fe-task[data-task-id=second]", state="detached", timeout=5_000)


def _fully_visible(page: Any, selector: str) -> bool:
    return bool(page.evaluate("""(sel) => {
      const el = document.querySelector(sel);
      if (!el) return false;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.left < 0 || r.right > window.innerWidth || r.top < 0 || r.bottom > window.innerHeight) return false;
      for (const [x, y] of [[r.left + 2, r.top + r.height / 2], [r.right - 2, r.top + r.height / 2]]) {
        const hit = document.elementFromPoint(x, y);
        if (!hit || !(hit === el || el.contains(hit))) return false;
      }
      return true;
    }""", selector))


@pytest.mark.parametrize("width,height", [(1024, 768), (800, 700)])
def test_the_toolbar_fits_narrow_windows(page: Any, asgi_server: Any, admin: Any, artifacts: Path,
                                         width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    _open(page, asgi_server.url, admin)
    page.screenshot(path=str(artifacts / f"toolbar_{width}.png"))
    for sel in (".we-save", ".fe-seg button:first-child", ".fe-seg button:last-child", ".we-status"):
        assert _fully_visible(page, sel), f"{sel} is clipped at {width}px"

