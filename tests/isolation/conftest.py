"""Prints how many isolation-matrix cases ran (crossing x relation of the target namespace)."""

from __future__ import annotations

from typing import Any

_counts: dict[str, int] = {}


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" and "test_isolation_matrix[" in report.nodeid:
        _counts[report.outcome] = _counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _counts:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(_counts.items()))
        terminalreporter.write_line(f"isolation matrix: {sum(_counts.values())} cases "
                                    f"(crossing x relation of the target namespace); {detail}")
