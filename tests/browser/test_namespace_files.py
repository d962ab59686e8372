"""Namespace files in Chromium: create a file in the namespace's file editor, use it from a
Python Script task, run the flow, and watch its stdout arrive on the execution page while the
task still runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.cli.devserver import ServerThread
from apps.executions import services as ex_services
from apps.files import store
from apps.flows import services as flow_services

pytestmark = [pytest.mark.browser]

NS = "acme.browser"
FLOW = f"""\
id: uses_namespace_file
namespace: {NS}
tasks:
  - id: run
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
    commands:
      - python scripts/hello.py
"""


def test_create_a_file_use_it_from_a_script_and_see_stdout_live(page: Any, asgi_server: ServerThread, admin: Any,
                                                                artifacts: Path) -> None:
    page.goto(f"{asgi_server.url}/namespaces/{NS}/files/")
    page.wait_for_selector(".nsf-bar")
    page.get_by_label("Path for a new file or folder, or the new name").fill("scripts/hello.py")
    page.get_by_role("button", name="New file").click()
    page.wait_for_function("() => document.querySelector('.nsf-path').textContent === '/scripts/hello.py'")
    page.locator(".nsf-code .cm-content").click()
    page.keyboard.type("import time\nprint('first line from a namespace file', flush=True)\n"
                       "time.sleep(4)\nprint('second line')\n")
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.querySelector('.nsf-status').textContent === 'Saved'")
    assert page.locator(".nsf-tree button.nsf-entry", has_text="hello.py").count() == 1
    page.screenshot(path=str(artifacts / "namespace-files.png"))
    saved = store.find(NS, "scripts/hello.py")
    assert saved is not None and b"first line from a namespace file" in store.read_bytes(saved)

    flow_services.create_flow(admin, FLOW)
    row = ex_services.create_execution(NS, "uses_namespace_file", inputs_mode="none")
    page.goto(f"{asgi_server.url}/executions/{row.id}/#logs")
    page.get_by_role("tab", name="Logs").click()
    page.wait_for_selector(".lv-row >> text=first line from a namespace file", timeout=30_000)
    row.refresh_from_db()
    assert row.state == "RUNNING", "the line arrived while the script was still running"
    page.screenshot(path=str(artifacts / "stdout-live.png"))
    page.wait_for_selector(".lv-row >> text=second line", timeout=30_000)
    assert ex_services.wait(row.id, 30).state == "SUCCESS"
