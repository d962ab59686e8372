"""The Content-Security-Policy (config/settings.py) in a real Chromium: the editor (CodeMirror,
React Flow, the layout worker), an execution's live page, the execute form and tokens page (their
inline scripts carry the response's nonce) and Swagger UI at /api/docs/ work with no violation."""

from __future__ import annotations

from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.flows import services as flow_services

pytestmark = pytest.mark.browser

FLOW = """\
id: pipeline
namespace: acme.csp
inputs:
  - id: who
    type: STRING
    defaults: world
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2]
    tasks:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message: "hello {{ inputs.who }} {{ taskrun.value }}"
"""

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _violations(page: Any, console: list[str]) -> list[str]:
    seen: list[str] = list(page.evaluate("() => window.__csp || []"))
    return seen + [m for m in console if "Content Security Policy" in m]


def test_pages_and_swagger_ui_run_under_the_policy(page: Any, asgi_server: Any, admin: Any) -> None:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(WATCH)
    flow_services.create_flow(admin, FLOW)
    execution = ex_services.wait(ex_services.create_execution("acme.csp", "pipeline").id, 60)
    base = asgi_server.url

    response = page.goto(f"{base}/flows/acme.csp/pipeline/edit/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".fe-task[data-task-id=say]")
    page.wait_for_selector(".cm-content")
    page.click(".cm-content")
    page.keyboard.press("End")
    page.keyboard.type(" # typed")
    page.wait_for_timeout(300)
    assert _violations(page, console) == [], "editor"

    page.goto(f"{base}/executions/{execution.id}/")
    page.locator("#ex-tab-gantt").click()  # a tab's content is built when it is first shown
    page.wait_for_selector(".gantt-label[title=say]")
    assert _violations(page, console) == [], "execution page"

    page.goto(f"{base}/flows/acme.csp/pipeline/execute/")
    page.wait_for_selector("[data-api-form]")
    page.click("[data-api-form] [type=submit]")
    page.wait_for_url(f"{base}/executions/**")
    assert _violations(page, console) == [], "execute form (inline script with the nonce)"

    page.goto(f"{base}/account/tokens/")
    page.fill("input[name=name]", "csp")
    page.click("form:has(#token-name) [type=submit]")
    page.wait_for_selector("[data-copy]")
    page.click("[data-copy]")
    page.wait_for_function("() => document.querySelector('[data-copy]').textContent === 'Copied'")
    assert _violations(page, console) == [], "tokens page"

    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30000)
    # Swagger UI renders long lists virtually (only what is near the viewport is in the DOM):
    # scroll through the page and collect the API areas whose sections were built under the policy.
    seen: set[str] = set()
    for _ in range(200):
        seen.update(page.locator(".swagger-ui .opblock-tag").all_inner_texts())
        if page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"):
            break
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(30)
    assert len(seen) >= 10, seen
    assert _violations(page, console) == [], "Swagger UI"
