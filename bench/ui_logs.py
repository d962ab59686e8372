"""Log viewer benchmark: 100 000 log lines loaded live into the execution page, then scrolled.

`measure(page, base_url)` takes a Playwright page already logged in to `base_url` (bench/ui.py
calls it that way). It creates, through the REST API, a flow whose execution writes 100 000 log
lines (100 tasks x 1 000 lines), waits for the execution to end, then opens its page on the Logs
tab and counts main-thread long tasks (PerformanceObserver `longtask`, > 50 ms) while the lines
stream in over the WebSocket and while the viewer is scrolled (wheel, then jumps to the top and
the end). Target: at most 3.

`__main__` runs it standalone: a fresh SQLite database in a temporary WEIR_DATA_DIR (or
DATABASE_URL if set), the ASGI server and worker in this process (apps/cli/devserver.py), and
Debian's Chromium. Last line: `log_long_tasks=<n>`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES_PER_TASK = 1000
TASKS = 100
NAMESPACE, FLOW_ID = "bench.ui", "logs100k"
TARGET = 3
SMOKE = {"tasks": 4, "lines_per_task": 50}
"""`--smoke`: 200 lines instead of 100 000, so CI proves the bench still runs in seconds."""

OBSERVER = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, duration: e.duration});
}).observe({type: "longtask", buffered: true});
"""


def flow_source(tasks: int = TASKS, lines_per_task: int = LINES_PER_TASK) -> str:
    messages = "\n".join(f'          - "line {i:04d} of {{{{ taskrun.value }}}}: \\u001b[32mok\\u001b[0m payload"'
                         for i in range(lines_per_task))
    return (f"id: {FLOW_ID}\nnamespace: {NAMESPACE}\ntasks:\n"
            "  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
            f"    values: {list(range(tasks))}\n    concurrencyLimit: 4\n    tasks:\n"
            "      - id: chatter\n        type: io.kestra.plugin.core.log.Log\n        message:\n"
            f"{messages}\n")


def _csrf(page: Any) -> str:
    for cookie in page.context.cookies():
        if cookie["name"] == "csrftoken":
            return str(cookie["value"])
    return ""


def _create_execution(page: Any, base_url: str, tasks: int, lines_per_task: int) -> str:
    page.goto(f"{base_url}/executions/")  # sets the csrftoken cookie
    headers = {"X-CSRFToken": _csrf(page), "Referer": base_url + "/"}
    api = page.request
    existing = api.get(f"{base_url}/api/v1/flows/{NAMESPACE}/{FLOW_ID}")
    if existing.status == 404:
        made = api.post(f"{base_url}/api/v1/flows", data=flow_source(tasks, lines_per_task),
                        headers={**headers, "Content-Type": "application/x-yaml"})
        if not made.ok:
            raise RuntimeError(f"could not create the flow: {made.status} {made.text()[:300]}")
    started = api.post(f"{base_url}/api/v1/executions/{NAMESPACE}/{FLOW_ID}?wait=true", headers=headers,
                       timeout=600_000)
    if not started.ok:
        raise RuntimeError(f"could not run the flow: {started.status} {started.text()[:300]}")
    execution_id = str(started.json()["id"])
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = api.get(f"{base_url}/api/v1/executions/{execution_id}").json()["state"]["current"]
        if state in {"SUCCESS", "WARNING", "FAILED", "KILLED"}:
            return execution_id
        time.sleep(0.5)
    raise RuntimeError("the 100 000-line execution did not end within 10 minutes")


def measure(page: Any, base_url: str, execution_id: str | None = None, tasks: int = TASKS,
            lines_per_task: int = LINES_PER_TASK) -> dict[str, Any]:
    """Long tasks while `tasks` x `lines_per_task` lines (100 000 by default) stream into the log
    viewer and while it is scrolled."""
    execution_id = execution_id or _create_execution(page, base_url, tasks, lines_per_task)
    expected = tasks * lines_per_task
    page.add_init_script(OBSERVER)
    t0 = time.monotonic()
    page.goto(f"{base_url}/executions/{execution_id}/#logs")
    island = "document.querySelector('[data-island=execution]')"
    page.wait_for_function(f"(n) => ({island}.store?.logs.length ?? 0) >= n", arg=expected, timeout=300_000)
    load_ms = (time.monotonic() - t0) * 1000
    page.wait_for_timeout(300)
    during_load = int(page.evaluate("() => window.__longTasks.length"))
    viewport = page.locator(".lv-viewport")
    viewport.hover()
    for _ in range(40):
        page.mouse.wheel(0, -1200)
        page.wait_for_timeout(16)
    page.evaluate("() => { const v = document.querySelector('.lv-viewport'); v.scrollTop = 0; }")
    page.wait_for_timeout(100)
    for _ in range(40):
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(16)
    page.evaluate("() => { const v = document.querySelector('.lv-viewport'); v.scrollTop = v.scrollHeight / 2; }")
    page.wait_for_timeout(300)
    tasks = page.evaluate("() => window.__longTasks")
    shown = page.locator(".lv-row:not([hidden])").count()
    return {
        "log_lines": int(page.evaluate(f"() => {island}.store.logs.length")),
        "log_rows_in_dom": shown,
        "log_load_ms": round(load_ms),
        "log_long_tasks_load": during_load,
        "log_long_tasks": len(tasks),
        "log_longest_task_ms": round(max((t["duration"] for t in tasks), default=0.0)),
    }


def main() -> int:
    if not os.environ.get("DATABASE_URL"):
        os.environ["WEIR_DATA_DIR"] = tempfile.mkdtemp(prefix="weir-bench-ui-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop shares this thread
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from apps.cli.devserver import ServerThread, start_worker

    call_command("migrate", interactive=False, verbosity=0)
    user_model = get_user_model()
    if not user_model.objects.filter(username="bench").exists():
        user_model.objects.create_superuser(username="bench", password="bench-password", email="")
    start_worker()
    with ServerThread() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server.url}/login/")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", "bench-password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        result = measure(page, server.url, **(SMOKE if "--smoke" in sys.argv else {}))
        if os.environ.get("BENCH_SCREENSHOT"):
            page.screenshot(path=os.environ["BENCH_SCREENSHOT"])
        browser.close()
    for key, value in result.items():
        print(f"{key}: {value}")
    if result["log_long_tasks"] > TARGET:
        print(f"TARGET MISSED: {result['log_long_tasks']} long tasks > {TARGET}")
    print(f"log_long_tasks={result['log_long_tasks']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
