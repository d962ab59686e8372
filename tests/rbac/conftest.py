"""Prints how many RBAC policy-table cases ran, by category, at the end of the session."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    counts = getattr(config, "rbac_counts", None)
    if counts and counts.get("cases"):
        detail = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if k != "cases")
        terminalreporter.write_line(f"rbac policy table: {counts['cases']} cases (route x method x namespace x persona); "
                                    f"{detail}")
