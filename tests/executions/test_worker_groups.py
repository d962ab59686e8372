"""Worker groups (DESIGN.md §1): a task with `workerGroup.key` goes to queue `weir.wg.<key>`,
served by `weir worker --group KEY`; with no live worker on it, `fallback` decides (FAIL fails
the task run, CANCEL cancels the execution, WAIT leaves the message until a worker comes).

The Redis tests start the real `weir worker` command on the test's PostgreSQL database and the
Redis database of REDIS_URL (flushed), as tests/faults does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.cli.main import worker_queues
from tests.faults import faultkit

GROUP = "gpu"


def flow(fallback: str) -> str:
    return f"""\
id: grouped_{fallback.lower()}
namespace: groups
tasks:
  - id: heavy
    type: io.kestra.plugin.core.debug.Return
    format: "ran on {{{{ taskrun.id }}}}"
    workerGroup:
      key: {GROUP}
      fallback: {fallback}
"""


@pytest.mark.parametrize(("groups", "queues", "expected"), [
    ([], None, ["weir.tasks"]),
    (["gpu"], None, ["weir.wg.gpu"]),
    (["gpu", "io"], "weir.tasks", ["weir.wg.gpu", "weir.wg.io", "weir.tasks"]),
    (["gpu"], "weir.wg.gpu, extra", ["weir.wg.gpu", "extra"]),
], ids=["default", "group", "groups-and-default", "no-duplicates"])
def test_worker_queues_from_groups_and_queues(groups: list[str], queues: str | None, expected: list[str]) -> None:
    assert worker_queues(groups, queues) == expected


def test_a_group_key_outside_the_id_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid worker group key"):
        worker_queues(["gpu farm"], None)


# ---------------------------------------------------------------------------------------------
# With a real broker and real workers


@pytest.fixture
def grouped(settings: Any, django_user_model: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from apps.executions.runtime.dispatch import LISTENERS

    settings.WEIR_WORKER_GROUPS = [GROUP]
    faultkit.flush_broker()
    LISTENERS.forget()
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    started: list[faultkit.Service] = []
    yield {"user": user, "workdir": tmp_path, "started": started}
    for service in started:
        service.stop()
    LISTENERS.forget()


def run(user: Any, source: str) -> str:
    from apps.executions import services
    from apps.flows.services import save_flow

    saved = save_flow(user, source)
    return str(services.create_execution(saved.flow.namespace, saved.flow.flow_id, inputs={}, inputs_mode="none").id)


def group_worker(context: dict[str, Any]) -> faultkit.Service:
    import sys

    env = faultkit.service_env(context["workdir"], WEIR_WORKER_GROUPS=GROUP)
    service = faultkit.Service("group-worker", [sys.executable, "-m", "apps.cli.main", "worker", "--group", GROUP,
                                                "--concurrency", "1"], env, context["workdir"] / "group.log")
    context["started"].append(service.start())
    service.wait_ready(60)
    return service


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("fallback", "task_state", "execution_state"), [
    ("FAIL", "FAILED", "FAILED"), ("CANCEL", "CANCELLED", "CANCELLED"),
], ids=["fail", "cancel"])
def test_without_a_worker_of_the_group_the_fallback_ends_the_task(grouped: dict[str, Any], fallback: str,
                                                                  task_state: str, execution_state: str) -> None:
    from apps.executions import services
    from apps.executions.models import LogLine, TaskRun

    execution_id = run(grouped["user"], flow(fallback))
    row = services.wait(execution_id, 20)

    assert row.state == execution_state
    assert TaskRun.objects.get(execution_id=execution_id, task_id="heavy").state == task_state
    assert faultkit.queue_length(f"weir.wg.{GROUP}") == 0  # nothing was sent to the empty queue
    messages = LogLine.objects.filter(execution_id=execution_id).values_list("message", flat=True)
    assert f"No worker serves the worker group '{GROUP}' (fallback {fallback})" in list(messages)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_wait_keeps_the_task_queued_until_a_group_worker_starts(grouped: dict[str, Any]) -> None:
    from apps.executions import services
    from apps.executions.models import Execution, TaskRun

    waiting = run(grouped["user"], flow("WAIT"))
    assert TaskRun.objects.get(execution_id=waiting, task_id="heavy").state == "CREATED"
    assert faultkit.queue_length(f"weir.wg.{GROUP}") == 1
    assert Execution.objects.get(id=waiting).state == "RUNNING"

    worker = group_worker(grouped)
    assert services.wait(waiting, 30).state == "SUCCESS"

    failing = run(grouped["user"], flow("FAIL"))  # a live worker: the fallback does not apply
    assert services.wait(failing, 30).state == "SUCCESS"
    for execution_id in (waiting, failing):
        heavy = TaskRun.objects.get(execution_id=execution_id, task_id="heavy")
        assert heavy.queue == f"weir.wg.{GROUP}"
        assert int(heavy.worker.rsplit(":", 1)[1]) in worker.pool()  # run by the group worker's pool
