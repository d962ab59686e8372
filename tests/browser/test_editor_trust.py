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

from .test_editor_canvas import _drag_type, _ready, _select, _set_text, _text, _wait_tasks

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



def _chain(flow_id: str, n: int) -> str:
    lines = [f"id: {flow_id}", "namespace: acme.trust", "tasks:"]
    for i in range(1, n + 1):
        lines += [f"  - id: step{i}", "    type: io.kestra.plugin.core.log.Log", f"    message: step {i}"]
    return "\n".join(lines) + "\n"


def _on_screen(page: Any, task_id: str) -> dict[str, float]:
    """The node's box and whether it lies inside the visible canvas."""
    return dict(page.evaluate("""(id) => {
      const pane = document.querySelector('.fe-canvas').getBoundingClientRect();
      const side = document.querySelector('.fe-side');
      const right = side ? side.getBoundingClientRect().left : pane.right;
      const r = document.querySelector(`.react-flow__node[data-id='t:${id}']`).getBoundingClientRect();
      return {width: r.width, inside: r.left >= pane.left && r.right <= right && r.top >= pane.top && r.bottom <= pane.bottom ? 1 : 0};
    }""", task_id))


def _settled(page: Any) -> None:
    _ready(page)
    page.wait_for_selector(".react-flow__node")
    page.wait_for_timeout(600)


def test_a_small_flow_opens_readable_and_whole(page: Any, asgi_server: Any, admin: Any, artifacts: Path) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    _open(page, asgi_server.url, admin, _chain("six", 6))
    _settled(page)
    page.screenshot(path=str(artifacts / "six.png"))
    for i in range(1, 7):
        box = _on_screen(page, f"step{i}")
        assert box["inside"], f"step{i} is outside the canvas"
        assert box["width"] >= 0.6 * 220, f"step{i} is drawn {box['width']:.0f}px wide: unreadable"


def test_a_long_flow_wraps_and_opens_on_its_first_tasks(page: Any, asgi_server: Any, admin: Any,
                                                          artifacts: Path) -> None:
    _open(page, asgi_server.url, admin, _chain("long", 150))
    _settled(page)
    page.screenshot(path=str(artifacts / "long.png"))
    first = _on_screen(page, "step1")
    assert first["inside"] and first["width"] >= 0.6 * 220, first
    extent = page.evaluate("""() => {
      const pos = document.querySelector('[data-island=flow-editor]').flowState.positions;
      let w = 0, h = 0;
      for (const [id, b] of Object.entries(pos)) { w = Math.max(w, b.x + b.w); h = Math.max(h, b.y + b.h); }
      return {w, h};
    }""")
    assert extent["h"] < 4 * extent["w"], f"a thin strip: {extent}"
    # "Fit" shows the whole flow.
    page.locator(".fe-visual").press("f")
    page.wait_for_timeout(500)
    assert _on_screen(page, "step150")["inside"] and _on_screen(page, "step1")["inside"]


CROSSING = """\
id: crossing
namespace: acme.trust
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: a
  - id: b
    type: io.kestra.plugin.core.log.Log
    message: b
    dependsOn: [a]
  - id: g
    type: io.kestra.plugin.core.flow.Parallel
    dependsOn: [b]
    tasks:
      - id: x
        type: io.kestra.plugin.core.log.Log
        message: x
      - id: y
        type: io.kestra.plugin.core.log.Log
        message: y
  - id: d
    type: io.kestra.plugin.core.log.Log
    message: d
    dependsOn: [a, b, g]
"""

EDGE_HITS = """() => {
  const boxes = [...document.querySelectorAll('.react-flow__node')].map((n) => ({
    id: n.dataset.id, r: n.getBoundingClientRect(),
    inside: (id) => !!n.querySelector(`[data-id='${id}']`) || n.dataset.id === id }));
  const hits = [];
  for (const e of document.querySelectorAll('.react-flow__edge')) {
    const [, src, dst] = /^d:(.+)>(.+)$/.exec(e.dataset.id) || /^s:(.+)>(.+)$/.exec(e.dataset.id) || [];
    const path = e.querySelector('path.react-flow__edge-path');
    const m = path.getScreenCTM();
    const len = path.getTotalLength();
    for (let l = 0; l <= len; l += 4) {
      const p = new DOMPoint(path.getPointAtLength(l).x, path.getPointAtLength(l).y).matrixTransform(m);
      for (const b of boxes) {
        if (b.id === `t:${src}` || b.id === `t:${dst}`) continue;
        const el = document.querySelector(`.react-flow__node[data-id='${b.id}']`);
        // A group holding an end of the edge may be crossed (the edge leaves or enters it).
        if (el.classList.contains('react-flow__node-flowgroup') || el.classList.contains('react-flow__node-lane')) {
          const kids = [...document.querySelectorAll('.react-flow__node')].filter((k) => k.dataset.id === `t:${src}` || k.dataset.id === `t:${dst}`);
          if (kids.some((k) => { const r = k.getBoundingClientRect(); return r.left >= b.r.left && r.right <= b.r.right && r.top >= b.r.top && r.bottom <= b.r.bottom; })) continue;
        }
        const r = b.r;
        if (p.x > r.left + 3 && p.x < r.right - 3 && p.y > r.top + 3 && p.y < r.bottom - 3) { hits.push(`${e.dataset.id} through ${b.id}`); break; }
      }
    }
  }
  return [...new Set(hits)];
}"""


def test_dag_edges_go_around_tasks_and_groups(page: Any, asgi_server: Any, admin: Any, artifacts: Path) -> None:
    _open(page, asgi_server.url, admin, CROSSING)
    _settled(page)
    page.locator(".fe-seg button", has_text="Canvas").click()
    page.locator(".fe-visual").press("f")
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "edges.png"))
    assert page.locator(".fe-edge--dep").count() == 5
    assert page.evaluate(EDGE_HITS) == []


def test_after_the_first_save_the_page_is_the_flows_edit_page(page: Any, asgi_server: Any) -> None:
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.trust")
    _ready(page)
    _set_text(page, SMALL.replace("id: small", "id: born"))
    page.wait_for_function("() => document.querySelector('.we-status')?.dataset.kind === 'valid'", timeout=15_000)
    assert page.locator(".we-execute").count() == 0  # nothing saved to run yet
    page.locator(".we-save").click()
    page.wait_for_url(f"{asgi_server.url}/flows/acme.trust/born/edit/")
    crumbs = page.locator("nav.breadcrumbs")
    page.wait_for_function("() => !document.querySelector('nav.breadcrumbs').textContent.includes('New flow')")
    assert crumbs.locator("a", has_text="born").get_attribute("href") == "/flows/acme.trust/born/"
    assert crumbs.locator("[aria-current=page]").inner_text() == "Edit"
    # Execute runs the saved revision: offered once saved, held back while there are edits.
    assert page.locator("a.we-execute").get_attribute("href") == "/flows/acme.trust/born/execute/"
    _select(page, "first")
    field = page.locator(".fe-form [data-field='message'] input").first
    field.fill("changed")
    field.press("Tab")
    page.wait_for_selector("button.we-execute[disabled]")


def test_form_palette_and_problems_tell_the_truth(page: Any, asgi_server: Any, admin: Any) -> None:
    _open(page, asgi_server.url, admin)
    assert "Kestra rejects" in (page.locator(".fe-root-dag").get_attribute("title") or "")
    # The palette says when nothing matches and what there is instead.
    page.fill(".fe-search", "snowflake")  # Kestra's Snowflake plugin: no Weir type matches it
    assert "No task type matches “snowflake”" in page.locator(".fe-nomatch").inner_text()
    page.fill(".fe-search", "")
    # An optional object's required keys do not look required.
    _select(page, "second")
    assert page.locator(".fe-form [data-field='workerGroup.key'] .fe-required").count() == 0
    # A refused rename does not stay in the form.
    id_field = page.locator("#fe-field-id")
    id_field.fill("first")
    id_field.press("Tab")
    page.wait_for_selector(".fe-notice--error")
    assert id_field.input_value() == "second"
    assert yaml.safe_load(_text(page))["tasks"][1]["id"] == "second"
    # The problems footer lists the problems; a click puts the cursor on the line.
    _set_text(page, SMALL.replace("    message: three\n", "    message: three\n    level: LOUD\n"))
    page.wait_for_selector(".fe-problems-toggle", timeout=15_000)
    page.locator(".fe-problems-toggle").click()
    item = page.locator(".fe-problem").first
    assert "level" in item.inner_text()
    item.click()
    line = page.evaluate("""() => { const v = document.querySelector('[data-island=flow-editor]').editorView;
      return v.state.doc.lineAt(v.state.selection.main.head).number; }""")
    assert line == 13


def test_the_empty_flow_list_offers_the_visual_designer(page: Any, asgi_server: Any) -> None:
    page.goto(f"{asgi_server.url}/")
    page.get_by_role("link", name="Open the visual designer").click()
    _ready(page)
    assert page.locator(".fe-root").get_attribute("data-view") == "canvas"


def test_the_revision_diff_opens_at_the_first_change(page: Any, asgi_server: Any, admin: Any) -> None:
    source = _chain("history", 30)
    services.create_flow(admin, source)
    services.update_flow(admin, "acme.trust", "history", source.replace("message: step 29", "message: step 29 changed"))
    page.goto(f"{asgi_server.url}/flows/acme.trust/history/edit/")
    _ready(page)
    page.locator("a", has_text="Revisions").click()
    page.wait_for_selector("#first-change")
    assert "step 29" in page.locator("#first-change").inner_text()
    top = page.evaluate("() => document.getElementById('first-change').getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"], top
