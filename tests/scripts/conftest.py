"""Script tasks run end to end: Celery eager (the worker's code path, inline) by default."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    from apps.executions.runtime import runner
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    runner.clear_compiled()
    yield
    app.conf.task_always_eager = before
    runner.clear_compiled()
    # A timed-out attempt's plugin thread (worker._run_plugin) may still be stopping its process and
    # writing its last lines: the database is flushed after this, and a write then would deadlock
    # with the flush's TRUNCATE.
    for thread in threading.enumerate():
        if thread.name == "weir-task":
            thread.join(15)


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


class Ran:
    """A finished execution, its task runs by task id, and its log lines."""

    def __init__(self, execution_id: str) -> None:
        from apps.executions.models import Execution, TaskRun

        self.row = Execution.objects.get(id=execution_id)
        self.state = self.row.state
        self.runs = {r.task_id: r for r in TaskRun.objects.filter(execution_id=execution_id)}

    def outputs(self, task_id: str) -> dict[str, Any]:
        return dict(self.runs[task_id].outputs or {})

    def task_state(self, task_id: str) -> str:
        return str(self.runs[task_id].state)

    def logs(self, task_id: str | None = None) -> list[tuple[str, str]]:
        from apps.executions.models import LogLine

        lines = LogLine.objects.filter(execution_id=self.row.id).order_by("seq")
        return [(line.level, line.message) for line in lines if task_id is None or line.task_id == task_id]

    def messages(self, task_id: str | None = None) -> list[str]:
        return [message for _, message in self.logs(task_id)]


def run_flow(user: Any, source: str, inputs: Mapping[str, Any] | None = None, wait: float = 60) -> Ran:
    from apps.executions import services
    from apps.executions.runtime import lifecycle
    from apps.flows.services import save_flow

    outcome = save_flow(user, textwrap.dedent(source))
    row = services.create_execution(outcome.flow.namespace, outcome.flow.flow_id, inputs=inputs,
                                    inputs_mode="raw", start=False)
    lifecycle.start(row.id)
    services.wait(row.id, wait)
    return Ran(row.id)
