"""The visual flow editor in Chromium: a flow built on the canvas from the palette, a DAG drawn
between handles, properties filled in the generated form, saved and read back from the API; and
canvas edits on a commented flow that keep every comment of the tasks they do not delete.

Uses H3's `asgi_server`, `page` (logged in as admin, JS errors fail the test) and `artifacts`
fixtures from tests/browser/conftest.py. Screenshots go to var/artifacts/<test>/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from apps.flows import services

pytestmark = [pytest.mark.browser]

EMPTY = "id: built\nnamespace: acme.canvas\ntasks: []\n"

COMMENTED = """\
# Nightly pipeline: keep this header.
id: nightly
namespace:   acme.canvas   # odd spacing stays
description: >-
  A folded description
  over two lines.

labels: {team: data, tier: "1"}

tasks:
  # Extract first.
  - id: extract
    type: io.kestra.plugin.core.log.Log
    message: "extracting"   # the source

  - type: io.kestra.plugin.core.log.Log   # type before id
    id: announce
    message: |
      Fetched {{ outputs.extract }}
      rows.

  - id: fanout
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
    # first branch
    - id: left
      type: io.kestra.plugin.core.debug.Return
      format: 'left'
    - id: right   # second branch
      type: io.kestra.plugin.core.debug.Return
      format: right

  # Gone soon: its own comment goes with it.
  - id: obsolete
    type: io.kestra.plugin.core.log.Log
    message: bye
"""


def _text(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('[data-island=flow-editor]').editorView.state.doc.toString()"))


def _set_text(page: Any, text: str) -> None:
    page.evaluate("""(t) => { const v = document.querySelector('[data-island=flow-editor]').editorView;
      v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: t}}); }""", text)


def _ready(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('[data-island=flow-editor]')?.dataset.layout === 'ready'",
                           timeout=20_000)


def _node(page: Any, task_id: str) -> Any:
    return page.locator(f".react-flow__node[data-id='t:{task_id}']")


def _wait_tasks(page: Any, count: int) -> None:
    page.wait_for_function(f"() => document.querySelectorAll('.fe-task, .fe-group').length === {count}", timeout=10_000)
    _ready(page)


def _drag_type(page: Any, type_name: str, target: Any, position: dict[str, float] | None = None) -> None:
    page.fill(".fe-search", type_name)
    item = page.locator(f".fe-palette-item[data-type='io.kestra.plugin.core.{type_name}']")
    item.drag_to(target, target_position=position) if position else item.drag_to(target)
    page.fill(".fe-search", "")


def _fit(page: Any) -> None:
    page.locator(".fe-visual").press("f")
    page.wait_for_timeout(300)  # the fit animates for 200 ms


def _still_box(locator: Any) -> Any:
    """The element's box once it stopped moving (the fit animation runs longer on a busy machine)."""
    box = locator.bounding_box()
    for _ in range(40):
        locator.page.wait_for_timeout(50)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    return box


def _connect(page: Any, source: str, target: str) -> None:
    _fit(page)
    src = _still_box(_node(page, source).locator(".react-flow__handle.source"))
    dst = _still_box(_node(page, target).locator(".react-flow__handle.target"))
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    page.mouse.move(dst["x"] + 2, dst["y"] + 2, steps=8)
    page.mouse.move(dst["x"] + dst["width"] / 2, dst["y"] + dst["height"] / 2, steps=4)
    page.mouse.up()


def _select(page: Any, task_id: str) -> None:
    """Click a task and wait until the form shows it (typing earlier would go to the old form).

    The click aims at the node's box once the fit animation stopped; on a busy machine the
    animation can still move it between the aim and the click, so a click that selected nothing
    is aimed and made again."""
    _fit(page)
    shown = f"() => document.querySelector('.fe-form h2')?.textContent === {task_id!r}"
    for _ in range(3):
        box = _still_box(_node(page, task_id))
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        try:
            page.wait_for_function(shown, timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    page.wait_for_function(shown)


def _fill(page: Any, field: str, value: str) -> None:
    box = page.locator(f".fe-form [data-field='{field}'] input, .fe-form [data-field='{field}'] textarea").first
    box.fill(value)
    box.press("Tab")


def _save(page: Any, revision: int) -> None:
    page.locator(".we-save").click()
    page.wait_for_function(
        f"() => document.querySelector('.we-revision')?.textContent.trim() === 'revision {revision}'", timeout=15_000)


def test_a_five_task_dag_is_built_on_the_canvas_and_saved(page: Any, asgi_server: Any, artifacts: Path) -> None:
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.canvas")
    _ready(page)
    _set_text(page, EMPTY)
    _wait_tasks(page, 0)

    pane = page.locator(".react-flow__pane")
    _drag_type(page, "log.Log", pane)
    _wait_tasks(page, 1)
    # Each next type lands on the lower half of the last task: inserted after it.
    for i, type_name in enumerate(["debug.Return", "flow.Sleep", "log.Log", "debug.Return"], start=2):
        last = page.locator(".fe-task").last
        box = last.bounding_box()
        _drag_type(page, type_name, last, {"x": box["width"] * 0.3, "y": box["height"] * 0.85})
        _wait_tasks(page, i)
    ids = [t["id"] for t in yaml.safe_load(_text(page))["tasks"]]
    assert ids == ["log", "return", "sleep", "log_2", "return_2"]
    page.screenshot(path=str(artifacts / "built.png"))

    # DAG: the switch writes each task's dependsOn on the previous one; a drawn edge adds one;
    # a selected edge deleted with the Delete key removes one; a cycle is refused.
    page.get_by_label("Run the top-level tasks as a DAG").check()
    page.wait_for_function("() => document.querySelectorAll('.fe-edge--dep').length === 4")
    _ready(page)
    _connect(page, "log", "log_2")
    page.wait_for_function("() => document.querySelectorAll('.fe-edge--dep').length === 5")
    _ready(page)
    _connect(page, "return_2", "log")
    page.screenshot(path=str(artifacts / "cycle.png"))
    page.wait_for_selector(".fe-notice--error", timeout=5000)
    assert "cycle" in page.locator(".fe-notice--error").inner_text()
    page.locator(".react-flow__edge[data-id='d:sleep>log_2']").click(force=True)
    page.locator(".fe-visual").press("Delete")
    page.wait_for_function("() => document.querySelectorAll('.fe-edge--dep').length === 4")

    # Properties from the generated form.
    _select(page, "log")
    _fill(page, "message", "hello {{ flow.id }}")
    page.locator(".fe-form [data-field='level'] select").select_option("WARN")
    _select(page, "sleep")
    _fill(page, "duration", "PT1S")
    _select(page, "return")
    _fill(page, "format", "done")
    _select(page, "log_2")
    _fill(page, "id", "report")
    _fill(page, "message", "report")
    _select(page, "return_2")
    _fill(page, "format", "{{ outputs.report }}")
    page.wait_for_function("() => document.querySelector('.we-status')?.dataset.kind === 'valid'", timeout=15_000)
    page.screenshot(path=str(artifacts / "dag.png"))

    page.keyboard.press("Control+s")
    page.wait_for_url(f"{asgi_server.url}/flows/acme.canvas/built/edit/")
    stored = page.request.get(f"{asgi_server.url}/api/v1/flows/acme.canvas/built").json()
    assert stored["revision"] == 1
    tasks = {t["id"]: t for t in yaml.safe_load(stored["source"])["tasks"]}
    assert list(tasks) == ["log", "return", "sleep", "report", "return_2"]
    assert tasks["log"]["message"] == "hello {{ flow.id }}" and tasks["log"]["level"] == "WARN"
    assert tasks["sleep"]["duration"] == "PT1S"
    assert tasks["report"]["dependsOn"] == ["log"]  # sleep → report was deleted, log → report drawn
    assert tasks["return"]["dependsOn"] == ["log"] and tasks["sleep"]["dependsOn"] == ["return"]
    assert tasks["return_2"]["dependsOn"] == ["report"] and "dependsOn" not in tasks["log"]
    assert stored["source"] == _text(page)


def test_canvas_edits_keep_every_comment(page: Any, asgi_server: Any, admin: Any, artifacts: Path) -> None:
    services.create_flow(admin, COMMENTED)
    page.goto(f"{asgi_server.url}/flows/acme.canvas/nightly/edit/")
    _ready(page)
    page.wait_for_selector(".fe-task[data-task-id=left]")

    # Insert into the Parallel group, rename through the form, delete a task, undo and redo,
    # wrap two tasks into a Sequential, and set a property.
    group = page.locator(".fe-group[data-task-id=fanout]")
    box = group.bounding_box()
    _drag_type(page, "flow.Sleep", group, {"x": box["width"] - 8, "y": box["height"] - 6})
    page.wait_for_selector(".fe-task[data-task-id=sleep]")
    _ready(page)
    _select(page, "sleep")
    page.wait_for_selector(".fe-task[data-task-id=sleep] .fe-node-error")  # duration is required
    _fill(page, "duration", "PT1S")
    page.wait_for_selector(".fe-task[data-task-id=sleep] .fe-node-error", state="detached")
    _select(page, "extract")
    _fill(page, "id", "fetch")
    page.wait_for_selector(".fe-task[data-task-id=fetch]")
    _select(page, "obsolete")
    page.locator(".fe-visual").press("Delete")
    page.wait_for_selector(".fe-task[data-task-id=obsolete]", state="detached")
    page.locator(".fe-visual").press("Control+z")
    page.wait_for_selector(".fe-task[data-task-id=obsolete]")
    page.get_by_label("Redo (Ctrl+Shift+Z)").click()
    page.wait_for_selector(".fe-task[data-task-id=obsolete]", state="detached")
    _ready(page)
    _select(page, "fetch")
    _node(page, "announce").click(modifiers=["Shift"])
    page.wait_for_selector(".fe-side[aria-label=Selection]")
    page.get_by_label("Wrap the selection into a flowable").select_option(label="Sequential")
    page.wait_for_selector(".fe-group[data-task-id=sequential]")
    _ready(page)
    _select(page, "right")
    _fill(page, "format", "right side")
    page.wait_for_function("() => document.querySelector('.we-status')?.dataset.kind === 'valid'", timeout=15_000)
    page.screenshot(path=str(artifacts / "edited.png"))
    _save(page, 2)

    stored = page.request.get(f"{asgi_server.url}/api/v1/flows/acme.canvas/nightly").json()["source"]
    kept = [c for c in re.findall(r"#.*", COMMENTED) if "Gone soon" not in c]
    for comment in kept:
        assert comment in stored, f"lost comment {comment!r}"
    assert "Gone soon" not in stored and "obsolete" not in stored
    assert "namespace:   acme.canvas   # odd spacing stays" in stored
    assert "description: >-\n  A folded description\n  over two lines.\n" in stored
    assert 'labels: {team: data, tier: "1"}' in stored
    assert "Fetched {{ outputs.fetch }}" in stored  # the rename followed the expression
    flow = yaml.safe_load(stored)
    assert [t["id"] for t in flow["tasks"]] == ["sequential", "fanout"]
    assert [t["id"] for t in flow["tasks"][0]["tasks"]] == ["fetch", "announce"]
    assert [t["id"] for t in flow["tasks"][1]["tasks"]] == ["left", "right", "sleep"]
    assert flow["tasks"][1]["tasks"][2]["duration"] == "PT1S"
    assert flow["tasks"][1]["tasks"][1]["format"] == "right side"
