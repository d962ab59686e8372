"""Screenshots of Weir's main pages, to review the UI by eye (and to catch a broken island).

    .venv/bin/python bench/screenshots.py http://127.0.0.1:8765 admin PASSWORD [--out /tmp/shots]

It signs in through the login form, makes sure a demo flow `weir.demo/daily_sales_report` exists
(created through the REST API with the session, like the editor does), then captures: login,
flow list, flow page (topology, source, revisions), editor (valid, with a validation error, with
a save conflict), new-flow editor and API tokens. It uses the machine's Chromium, never a
downloaded browser, and prints one line per file and any browser console errors. The conflict
shot saves one extra revision of the demo flow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DEMO_NS, DEMO_ID = "weir.demo", "daily_sales_report"

DEMO_FLOW = """\
id: daily_sales_report
namespace: weir.demo
description: |
  Builds the **daily sales report**: pulls orders from every region in parallel,
  renders the format asked for, and alerts the team when anything fails.
  Runbook: [wiki/sales-report](https://example.com/wiki/sales-report).

labels:
  team: analytics
  env: prod

inputs:
  - id: format
    type: STRING
    defaults: pdf

tasks:
  - id: announce
    type: io.kestra.plugin.core.log.Log
    message: "Building the report for {{ execution.startDate }}"

  - id: extract
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: orders_eu
        type: io.kestra.plugin.core.debug.Return
        format: "eu"
      - id: orders_us
        type: io.kestra.plugin.core.debug.Return
        format: "us"
      - id: orders_apac
        type: io.kestra.plugin.core.debug.Return
        format: "apac"

  - id: render
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.format }}"
    cases:
      pdf:
        - id: to_pdf
          type: io.kestra.plugin.core.debug.Return
          format: "report.pdf"
      csv:
        - id: to_csv
          type: io.kestra.plugin.core.debug.Return
          format: "report.csv"
    defaults:
      - id: unsupported
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: "Unknown format {{ inputs.format }}"

  - id: publish
    type: io.kestra.plugin.core.log.Log
    message: "Published {{ outputs.to_pdf.value ?? outputs.to_csv.value }}"

errors:
  - id: alert_team
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: "The sales report failed: {{ execution.id }}"

triggers:
  - id: every_morning
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 6 * * 1-5"
"""


EXTRA_FLOWS = [
    """\
id: hello_world
namespace: weir.demo
description: The smallest useful flow, to try the editor on.
labels:
  team: platform
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: Hello from Weir
""",
    """\
id: monthly_close
namespace: weir.demo.finance
description: Closes the books at month end, one entity after another.
labels:
  team: finance
  tier: critical
tasks:
  - id: close_entities
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: close_fr
        type: io.kestra.plugin.core.debug.Return
        format: fr
      - id: close_de
        type: io.kestra.plugin.core.debug.Return
        format: de
  - id: notify
    type: io.kestra.plugin.core.log.Log
    message: Month closed
""",
]


def _csrf(page: Page) -> str:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")


def _ensure_demo_flow(page: Page, base: str, source: str = DEMO_FLOW) -> int:
    """Create a demo flow if needed; return its latest revision."""
    api = f"{base}/api/v1/flows"
    ident = dict(line.split(": ", 1) for line in source.splitlines()[:2])
    got = page.request.get(f"{api}/{ident['namespace']}/{ident['id']}")
    if got.status == 200:
        return int(got.json()["revision"])
    made = page.request.post(api, data=source,
                             headers={"Content-Type": "application/x-yaml", "X-CSRFToken": _csrf(page),
                                      "Referer": base + "/"})
    if made.status != 200:
        sys.exit(f"could not create the demo flow: HTTP {made.status} {made.text()[:500]}")
    return int(made.json()["revision"])


def _shot(page: Page, out: Path, name: str, **kwargs: Any) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    print(path)


def _goto_line(page: Page, text: str) -> None:
    """Put the cursor at the end of the first demo-flow line containing `text`.

    CodeMirror only renders the lines in view, so this moves with the keyboard, not the mouse.
    """
    number = next(i for i, line in enumerate(DEMO_FLOW.splitlines()) if text in line)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    for _ in range(number):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("End")


def _wait_validated(page: Page) -> None:
    page.wait_for_function(
        "() => ['valid','invalid','unknown'].includes(document.querySelector('.we-status')?.dataset.kind)",
        timeout=15000)


def run(base: str, username: str, password: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        # The editor asks before leaving unsaved text (beforeunload): say yes and move on.
        page.on("dialog", lambda d: d.accept())

        page.goto(f"{base}/login/")
        _shot(page, out, "login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")

        for source in [DEMO_FLOW, *EXTRA_FLOWS]:
            _ensure_demo_flow(page, base, source)
        page.goto(f"{base}/")
        _shot(page, out, "flows")
        page.goto(f"{base}/?namespace={DEMO_NS}")
        _shot(page, out, "flows-filtered")

        flow_url = f"{base}/flows/{DEMO_NS}/{DEMO_ID}/"
        page.goto(flow_url)
        page.wait_for_selector(".wt-node")
        _shot(page, out, "flow", full_page=True)
        page.goto(f"{flow_url}?tab=source")
        _shot(page, out, "flow-source")
        page.goto(f"{flow_url}?tab=revisions")
        _shot(page, out, "flow-revisions")

        # Editor: valid, then with a validation error typed in.
        page.goto(f"{flow_url}edit/")
        page.wait_for_selector(".cm-content")
        _wait_validated(page)
        page.wait_for_selector(".we-topology .wt-node")
        _shot(page, out, "editor")
        _goto_line(page, "type: io.kestra.plugin.core.debug.Return")
        page.keyboard.type("x")
        _goto_line(page, "message: \"Published")
        page.keyboard.press("Home")
        page.keyboard.type("mesage: oops\n")
        page.wait_for_selector(".we-problem--error", timeout=15000)
        _wait_validated(page)
        page.wait_for_timeout(300)
        page.locator(".cm-lintRange-error").first.hover()
        page.wait_for_timeout(700)
        _shot(page, out, "editor-error")

        # Completion of `type:` values from the JSON Schema, on a fresh editor.
        page.goto(f"{flow_url}edit/")
        page.wait_for_selector(".cm-content")
        _wait_validated(page)
        _goto_line(page, "level: ERROR")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("End")
        for _ in "log.Log":
            page.keyboard.press("Backspace")
        page.keyboard.type("fl")
        page.wait_for_selector(".cm-tooltip-autocomplete", timeout=10000)
        page.wait_for_timeout(300)
        _shot(page, out, "editor-completion")

        # A save conflict: someone else saves a revision while this editor is open.
        page.goto(f"{flow_url}edit/")
        page.wait_for_selector(".cm-content")
        _wait_validated(page)
        latest = _ensure_demo_flow(page, base)
        bumped = DEMO_FLOW.replace("cron: \"0 6 * * 1-5\"", f"cron: \"0 {(latest % 5) + 6} * * 1-5\"")
        page.request.put(f"{base}/api/v1/flows/{DEMO_NS}/{DEMO_ID}", data=bumped,
                         headers={"Content-Type": "application/x-yaml", "X-CSRFToken": _csrf(page),
                                  "If-Match": f'"{latest}"', "Referer": base + "/"})
        _goto_line(page, "team: analytics")
        page.keyboard.type("_eu")
        page.keyboard.press("Control+s")
        page.wait_for_selector(".we-banner[data-tone=warn]", timeout=15000)
        _shot(page, out, "editor-conflict")

        page.goto(f"{base}/flows/new/?namespace=weir.demo")
        page.wait_for_selector(".cm-content")
        _wait_validated(page)
        page.wait_for_timeout(300)
        _shot(page, out, "editor-new")

        page.goto(f"{base}/account/tokens/")
        page.fill("input[name=name]", "screenshots")
        page.click("form.form-inline button[type=submit]")
        page.wait_for_selector("[data-new-token]")
        _shot(page, out, "tokens")
        browser.close()

    # A 409 on purpose (the conflict shot) shows up as a failed resource load: not an error.
    real = [e for e in errors if "409" not in e]
    for line in real:
        print("console error:", line, file=sys.stderr)
    return 1 if real else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8765")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots"))
    args = parser.parse_args()
    return run(args.base_url.rstrip("/"), args.username, args.password, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
