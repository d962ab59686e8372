"""The execution page, live, in Chromium: nodes change state as the run goes, a dropped socket
resumes without losing or doubling a log line, and the page's Kill button kills the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.cli.devserver import ServerThread
from apps.executions import services as ex_services
from apps.executions.models import LogLine
from apps.flows import services as flow_services

pytestmark = [pytest.mark.browser]

LIVE = """\
id: live
namespace: acme.browser
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "hello \\u001b[31mred\\u001b[0m world"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b", "c", "d"]
    tasks:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message:
          - "value {{ taskrun.value }} one"
          - "value {{ taskrun.value }} two"
          - "value {{ taskrun.value }} three"
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.6S
  - id: bye
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: bye
"""

SLOW = """\
id: slow
namespace: acme.browser
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: starting
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: not reached
"""


# A task's node: its uid ends with the task id, or with `<task id>_<n>` for a loop copy.
NODES = """(id) => [...document.querySelectorAll('g.wt-node[data-uid]')]
             .filter((g) => new RegExp('^' + id + '(_[0-9]+)?$').test(g.dataset.uid.split('.').pop()))"""


def _node_state(page: Any, task_id: str) -> str:
    return str(page.evaluate(f"(id) => ({NODES})(id)[0]?.dataset.state ?? ''", task_id))


def _loop_copies(page: Any, task_id: str) -> list[list[str]]:
    """[value, state] of each drawn copy of a task inside an unrolled loop."""
    return list(page.evaluate(f"(id) => ({NODES})(id).map((g) => [g.dataset.value ?? '', g.dataset.state])", task_id))


def _wait_node(page: Any, task_id: str, states: list[str], timeout: float = 30000) -> None:
    page.wait_for_function(
        f"""([id, states]) => ({NODES})(id).some((g) => states.includes(g.dataset.state))""",
        arg=[task_id, states], timeout=timeout)


def _wait_execution(page: Any, states: list[str], timeout: float = 60000) -> None:
    page.wait_for_function("(states) => states.includes(document.querySelector('[data-execution-state]')"
                           "?.dataset.executionState)", arg=states, timeout=timeout)


def _start(admin: Any, source: str, flow_id: str) -> str:
    flow_services.create_flow(admin, source)
    return str(ex_services.create_execution("acme.browser", flow_id).id)


def test_nodes_change_state_live(page: Any, asgi_server: ServerThread, admin: Any, artifacts: Path) -> None:
    execution_id = _start(admin, LIVE, "live")
    page.goto(f"{asgi_server.url}/executions/{execution_id}/")
    page.wait_for_selector("g.wt-node[data-uid]")
    _wait_node(page, "nap", ["RUNNING", "CREATED"])
    assert _node_state(page, "bye") == "", "bye has not run yet"
    page.screenshot(path=str(artifacts / "running.png"))
    _wait_execution(page, ["SUCCESS"])
    _wait_node(page, "bye", ["SUCCESS"])
    page.wait_for_function(f"() => ({NODES})('nap').length === 4")
    assert sorted(_loop_copies(page, "nap")) == [[v, "SUCCESS"] for v in "abcd"]  # the loop, unrolled
    page.screenshot(path=str(artifacts / "done.png"))
    page.get_by_role("tab", name="Gantt").click()
    assert page.locator(".gantt-row[data-task-run]").count() >= 10
    page.screenshot(path=str(artifacts / "gantt.png"))
    page.get_by_role("tab", name="Logs").click()
    red = page.locator(".lv-row .lv-msg .ansi-fg-1").first
    assert red.inner_text() == "red" and "\x1b" not in page.locator(".lv-rows").inner_text()
    page.screenshot(path=str(artifacts / "logs.png"))
    page.emulate_media(color_scheme="dark")
    page.get_by_role("tab", name="Topology").click()
    page.wait_for_timeout(300)  # let colour transitions finish
    page.screenshot(path=str(artifacts / "dark.png"))


def test_a_dropped_socket_resumes_without_loss_or_duplicates(page: Any, asgi_server: ServerThread, admin: Any,
                                                              artifacts: Path) -> None:
    execution_id = _start(admin, LIVE, "live")
    page.goto(f"{asgi_server.url}/executions/{execution_id}/#logs")
    page.wait_for_function("() => document.querySelector('[data-island=execution]').store?.logs.length >= 3",
                           timeout=30000)
    page.evaluate("() => document.querySelector('[data-island=execution]').liveSocket.drop()")
    page.wait_for_selector(".ex-conn[data-status=open]", timeout=15000)
    _wait_execution(page, ["SUCCESS"])
    stored = list(LogLine.objects.filter(execution_id=execution_id).order_by("seq").values_list("seq", "message"))
    page.wait_for_function("(n) => document.querySelector('[data-island=execution]').store.logs.length >= n",
                           arg=len(stored), timeout=15000)
    shown = json.loads(page.evaluate(
        "() => JSON.stringify(document.querySelector('[data-island=execution]').store.logs.map((l) => [l.seq, l.message]))"))
    assert [tuple(x) for x in shown] == stored
    assert page.locator(".lv-count").inner_text() == f"{len(stored)} lines"
    page.screenshot(path=str(artifacts / "resumed.png"))


def test_kill_a_running_execution_from_its_page(page: Any, asgi_server: ServerThread, admin: Any,
                                                artifacts: Path) -> None:
    execution_id = _start(admin, SLOW, "slow")
    page.goto(f"{asgi_server.url}/executions/{execution_id}/")
    _wait_node(page, "wait", ["RUNNING"])
    page.get_by_role("button", name="Kill").click()
    _wait_execution(page, ["KILLED"])
    _wait_node(page, "wait", ["KILLED"])
    assert _node_state(page, "never") == ""
    assert page.get_by_role("button", name="Kill").count() == 0
    page.screenshot(path=str(artifacts / "killed.png"))


FORM = """\
id: form
namespace: acme.browser
inputs:
  - id: region
    type: SELECT
    values: [eu, us]
    defaults: eu
  - id: country
    type: SELECT
    expression: "{{ inputs.region == 'eu' ? ['fr', 'de'] : ['ca', 'mx'] }}"
    dependsOn:
      inputs: [region]
  - id: detailed
    type: BOOLEAN
    defaults: false
  - id: depth
    type: INT
    required: false
    dependsOn:
      inputs: [detailed]
      condition: "{{ inputs.detailed == true }}"
  - id: doc
    type: FILE
    required: false
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.country }} {{ inputs.depth ?? 'no depth' }}"
"""


def test_the_run_form_follows_depends_on_then_opens_the_execution(page: Any, asgi_server: ServerThread, admin: Any,
                                                                   artifacts: Path) -> None:
    flow_services.create_flow(admin, FORM)
    page.goto(f"{asgi_server.url}/flows/acme.browser/form/execute/")
    country = page.get_by_label("country")
    page.wait_for_function("() => document.querySelectorAll('#in-country option').length > 1")
    assert country.locator("option").all_inner_texts()[-2:] == ["fr", "de"]
    assert page.locator(".field[data-input=depth]").is_hidden()
    page.get_by_label("region").select_option("us")
    page.wait_for_function("() => [...document.querySelectorAll('#in-country option')].some((o) => o.value === 'mx')")
    country.select_option("mx")
    page.get_by_label("detailed").select_option("true")
    page.locator(".field[data-input=depth]").wait_for(state="visible")
    page.get_by_label("depth").fill("3")
    page.locator("#in-doc").set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    page.screenshot(path=str(artifacts / "form.png"))
    page.get_by_role("button", name="Execute").click()
    page.wait_for_url(f"{asgi_server.url}/executions/*/")
    _wait_execution(page, ["SUCCESS"])
    page.get_by_role("tab", name="Logs").click()
    page.wait_for_selector(".lv-row .lv-msg")
    assert page.locator(".lv-row .lv-msg").first.inner_text() == "mx 3"
    page.get_by_role("tab", name="Inputs & labels").click()
    upload = page.locator("#ex-panel-inputs a[download]")
    assert "/inputs/doc/" in upload.inner_text()
    assert page.request.get(asgi_server.url + str(upload.get_attribute("href"))).body() == b"hello"


def test_the_list_announces_new_executions_and_the_dashboard_charts_them(
        page: Any, asgi_server: ServerThread, admin: Any, artifacts: Path) -> None:
    first = _start(admin, LIVE, "live")
    page.goto(f"{asgi_server.url}/executions/?namespace=acme.browser")
    page.wait_for_selector(".live-conn[data-status=open]")
    chip = page.locator(f"tr[data-execution-id='{first}'] [data-state]")
    page.wait_for_function(f"() => document.querySelector(\"tr[data-execution-id='{first}'] [data-state]\")"
                           ".dataset.state === 'SUCCESS'", timeout=30000)
    assert chip.inner_text() == "SUCCESS"
    ex_services.create_execution("acme.browser", "live")
    page.locator("[data-new-executions]").wait_for(state="visible", timeout=15000)
    assert page.locator("[data-new-count]").inner_text() == "1 new execution"
    page.screenshot(path=str(artifacts / "list.png"))
    page.goto(f"{asgi_server.url}/dashboard/?namespace=acme&range=24h")
    page.wait_for_selector(".dash-chart rect[data-state=SUCCESS]")
    assert page.locator("[data-island=dashboard] .dash-summary").inner_text().startswith("2 executions")
    page.screenshot(path=str(artifacts / "dashboard.png"))
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)  # let colour transitions finish
    page.screenshot(path=str(artifacts / "dashboard-dark.png"))
