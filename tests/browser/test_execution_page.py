"""The execution page says what is true: connecting is not reconnecting, the change-status
control is a prompt and not a state, empty columns are not shown, a parent lasts as long as its
children, and a kill leaves a line in the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.executions.models import LogLine
from apps.flows import services as flow_services

pytestmark = [pytest.mark.browser]

NESTED = """\
id: nested
namespace: acme.page
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1.2S
      - id: right
        type: io.kestra.plugin.core.debug.Return
        format: right
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: done
"""

SLOW = """\
id: slow
namespace: acme.page
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
"""

SEEN = """
window.__connTexts = [];
new MutationObserver(() => {
  const el = document.querySelector('.ex-conn');
  if (el && window.__connTexts.at(-1) !== el.textContent) window.__connTexts.push(el.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _finished(page: Any, url: str, admin: Any, source: str, flow_id: str) -> str:
    flow_services.create_flow(admin, source)
    execution_id = str(ex_services.create_execution("acme.page", flow_id).id)
    page.goto(f"{url}/executions/{execution_id}/")
    page.wait_for_function("() => document.querySelector('[data-execution-state]')?.dataset.executionState === 'SUCCESS'",
                           timeout=30_000)
    return execution_id


def test_the_execution_page_says_what_is_true(page: Any, asgi_server: Any, admin: Any, artifacts: Path) -> None:
    page.add_init_script(SEEN)
    _finished(page, asgi_server.url, admin, NESTED, "nested")
    page.wait_for_selector(".ex-conn[data-status=open]", timeout=15_000)
    seen = page.evaluate("() => window.__connTexts")
    assert "Reconnecting…" not in seen, seen

    # The change-status control prompts; it does not read like the run's state.
    select = page.locator("#ex-change-status")
    assert select.input_value() == ""
    assert select.locator("option:checked").inner_text() == "Change status to…"
    assert page.locator(".ex-change-status button").is_disabled()

    # Outputs: no Value column when no run has a value.
    page.locator("#ex-tab-outputs").click()
    headers = page.locator(".ex-task-outputs thead th").all_inner_texts()
    assert "Value" not in headers, headers

    # Gantt: the Parallel lasts at least as long as its slowest child.
    page.locator("#ex-tab-gantt").click()
    page.screenshot(path=str(artifacts / "gantt.png"))
    parent = page.locator(".gantt-row", has_text="both").locator(".gantt-duration").inner_text()
    child = page.locator(".gantt-row", has_text="left").locator(".gantt-duration").inner_text()
    assert not parent.endswith("ms"), (parent, child)


def test_a_kill_writes_a_log_line(page: Any, asgi_server: Any, admin: Any) -> None:
    flow_services.create_flow(admin, SLOW)
    execution_id = str(ex_services.create_execution("acme.page", "slow").id)
    page.goto(f"{asgi_server.url}/executions/{execution_id}/#logs")
    page.wait_for_function("() => document.querySelector('[data-execution-state]')?.dataset.executionState === 'RUNNING'",
                           timeout=30_000)
    ex_services.kill(execution_id)
    page.wait_for_function("() => document.querySelector('[data-execution-state]')?.dataset.executionState === 'KILLED'",
                           timeout=30_000)
    lines = list(LogLine.objects.filter(execution_id=execution_id).values_list("message", flat=True))
    assert any("Kill requested" in m for m in lines), lines
    page.wait_for_selector(".lv-row .lv-msg:has-text('Kill requested')", timeout=15_000)


WHEN = """\
id: when
namespace: acme.page
inputs:
  - id: at
    type: DATETIME
    defaults: "{{ now() }}"
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "at {{ inputs.at }}"
"""



def test_a_datetime_input_with_an_expression_default_is_refused_at_validation(page: Any, asgi_server: Any) -> None:
    """Declared defaults are literals (never rendered): `{{ now() }}` could never start a run, so
    the editor shows the problem and the save is refused, instead of a run form that cannot run."""
    page.goto(f"{asgi_server.url}/flows/new/?namespace=acme.page")
    page.wait_for_function("() => document.querySelector('[data-island=flow-editor]')?.dataset.layout === 'ready'")
    page.evaluate("""(t) => { const v = document.querySelector('[data-island=flow-editor]').editorView;
      v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: t}}); }""", WHEN)
    page.wait_for_selector(".fe-problems-toggle", timeout=15_000)
    page.locator(".fe-problems-toggle").click()
    assert "is not rendered" in page.locator(".fe-problem").first.inner_text()
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    r = page.request.post(f"{asgi_server.url}/api/v1/flows", data=WHEN,
                          headers={"Content-Type": "application/x-yaml", "X-CSRFToken": token})
    assert r.status == 422, r.text()
    assert "now()" in r.text()


WIDE = """\
id: wide
namespace: acme.page
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
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: done
"""


def test_a_small_topology_opens_whole(page: Any, asgi_server: Any, admin: Any, artifacts: Path) -> None:
    _finished(page, asgi_server.url, admin, WIDE, "wide")
    page.wait_for_selector("g.wt-node[data-uid]")
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts / "topology.png"))
    outside = page.evaluate("""() => {
      const box = document.querySelector('.wt-viewport, .wt-topology svg').getBoundingClientRect();
      return [...document.querySelectorAll('g.wt-node[data-uid]')].filter((g) => {
        const r = g.getBoundingClientRect();
        return r.right > box.right + 1 || r.left < box.left - 1;
      }).map((g) => g.dataset.uid);
    }""")
    assert outside == [], outside
