"""Helpers for plugin tests that run real flows end to end (engine, worker, `WorkerRunContext`).

Celery runs in eager mode (tasks inline, in the test's thread); storage is the test settings'.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

import pytest


@pytest.fixture
def eager() -> Iterator[None]:
    from apps.executions.runtime import runner
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    runner.clear_compiled()
    yield
    app.conf.task_always_eager = before
    runner.clear_compiled()


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


class Ran:
    """A finished execution and its task runs, looked up by task id."""

    def __init__(self, execution_id: str) -> None:
        from apps.executions.models import Execution, TaskRun

        self.row = Execution.objects.get(id=execution_id)
        self.state = str(self.row.state)
        self.runs = list(TaskRun.objects.filter(execution_id=execution_id).order_by("seq"))

    def run(self, task_id: str) -> Any:
        return next(r for r in self.runs if r.task_id == task_id)

    def outputs(self, task_id: str) -> dict[str, Any]:
        return dict(self.run(task_id).outputs or {})

    def task_state(self, task_id: str) -> str:
        return str(self.run(task_id).state)

    def logs(self, task_id: str | None = None) -> list[str]:
        from apps.executions.models import LogLine

        lines = LogLine.objects.filter(execution_id=self.row.id).order_by("seq")
        return [line.message for line in lines if task_id is None or line.task_id == task_id]


def execute(user: Any, source: str, inputs: Mapping[str, Any] | None = None, wait: float = 30) -> Ran:
    """Deploy `source` and run one execution of it to the end."""
    from apps.executions import services
    from apps.executions.runtime import lifecycle
    from apps.flows.services import save_flow

    outcome = save_flow(user, textwrap.dedent(source))
    row = services.create_execution(outcome.flow.namespace, outcome.flow.flow_id, inputs=inputs,
                                    inputs_mode="raw", start=False)
    lifecycle.start(row.id)
    services.wait(row.id, wait)
    return Ran(row.id)


def read(uri: str) -> bytes:
    from apps.executions.runtime.runcontext import read_file

    return read_file(uri)
