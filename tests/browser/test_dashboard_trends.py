"""The dashboard's flow trends in Chromium: uPlot charts of task durations and failure rates per
flow, drawn from executions that really ran, with the figures in the screen-reader tables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.cli.devserver import ServerThread
from apps.executions import services as ex_services
from apps.executions.models import Execution, TaskRun
from apps.flows import services as flow_services

pytestmark = [pytest.mark.browser]

STEADY = """\
id: steady
namespace: acme.trends
tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: a
  - id: b
    type: io.kestra.plugin.core.log.Log
    message: b
"""
FLAKY = """\
id: flaky
namespace: acme.trends
inputs:
  - id: fail
    type: BOOLEAN
tasks:
  - id: maybe
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.fail }}"
    errorMessage: failed on purpose
"""


def _spread(ids: list[str], days_ago: int, seconds: float) -> None:
    """Move executions back in time and give their task runs a known duration."""
    Execution.objects.filter(id__in=ids).update(created=timezone.now() - timedelta(days=days_ago))
    start = timezone.now() - timedelta(days=days_ago)
    TaskRun.objects.filter(execution_id__in=ids).update(
        start_date=start.isoformat(), end_date=(start + timedelta(seconds=seconds)).isoformat())


def test_flow_trend_charts(page: Any, asgi_server: ServerThread, admin: Any, artifacts: Path) -> None:
    flow_services.save_flow(admin, STEADY)
    flow_services.save_flow(admin, FLAKY)
    plan = [(3, 0.4, [False, False]), (2, 1.5, [True, False, False]), (1, 0.8, [True, True]), (0, 2.0, [False])]
    for days_ago, seconds, fails in plan:
        steady = [str(ex_services.create_execution("acme.trends", "steady", inputs={}).id)]
        flaky = [str(ex_services.create_execution("acme.trends", "flaky", inputs={"fail": f}).id) for f in fails]
        for execution_id in steady + flaky:
            assert ex_services.wait(execution_id, 60).state in ("SUCCESS", "FAILED")
        _spread(steady, days_ago, seconds)
        _spread(flaky, days_ago, seconds / 4)

    page.goto(f"{asgi_server.url}/dashboard/?namespace=acme.trends&range=7d")
    durations = page.locator("[data-testid=trend-durations]")
    failures = page.locator("[data-testid=trend-failures]")
    durations.locator("canvas").wait_for()
    failures.locator("canvas").wait_for()
    for chart in (durations, failures):
        legend = chart.locator(".u-legend").inner_text()
        assert "acme.trends.steady" in legend and "acme.trends.flaky" in legend
        box = chart.locator("canvas").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    assert "2 flows." in page.locator("[data-island=flow-trends]").inner_text()

    # The screen-reader tables hold the figures: flaky failed 1 of 3 two days ago, 2 of 2 yesterday.
    rows = failures.locator("table.trend-table tbody tr")
    assert rows.count() == 7
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(7)]
    header = failures.locator("table.trend-table thead th").all_inner_texts()
    column = header.index("acme.trends.flaky") - 1
    flaky_column = [c[column] for c in cells]
    assert flaky_column[-3:-1] == ["33.3%", "100%"], flaky_column
    assert flaky_column[0] == "—"
    duration_rows = durations.locator("table.trend-table tbody tr")
    steady = header.index("acme.trends.steady") - 1
    steady_durations = [duration_rows.nth(i).locator("td").all_inner_texts()[steady] for i in range(7)]
    assert steady_durations[-4:] == ["400 ms", "1.50 s", "800 ms", "2.00 s"], steady_durations

    page.screenshot(path=str(artifacts / "dashboard-trends.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.reload()
    page.locator("[data-testid=trend-failures] canvas").wait_for()
    page.screenshot(path=str(artifacts / "dashboard-trends-dark.png"), full_page=True)
