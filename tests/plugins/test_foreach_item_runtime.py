"""ForEachItem on the real host: batch files in storage, one child execution per batch, the
counts and the merged outputs file (KESTRA.md §3.1). Celery runs eagerly, on the test database."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

pytestmark = pytest.mark.django_db(transaction=True)

CHILD = """
id: child
namespace: weir.batches
inputs:
  - id: items
    type: STRING
  - id: number
    type: INT
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.items) | trim }}"
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    runIf: "{{ inputs.number == 2 }}"
outputs:
  - id: value
    type: STRING
    value: "{{ inputs.number }}:{{ outputs.read.value | replace({'\\n': ','}) }}"
"""

PARENT = """
id: parent
namespace: weir.batches
inputs:
  - id: file
    type: STRING
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.file }}"
    batch:
      rows: 2
    namespace: weir.batches
    flowId: child
    transmitFailed: %s
    inputs:
      items: "{{ taskrun.items }}"
      number: "{{ taskrun.iteration }}"
"""


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def run_parent(user: Any, transmit: str, content: bytes | None) -> Any:
    from apps.executions import services
    from apps.executions.models import Execution
    from apps.executions.runtime import lifecycle
    from apps.flows.services import save_flow

    save_flow(user, textwrap.dedent(CHILD))
    save_flow(user, textwrap.dedent(PARENT % transmit))
    uri = "kestra:///weir/batches/missing.txt"
    if content is not None:
        uri = "kestra:///" + storages["default"].save("weir/batches/items.txt", ContentFile(content))
    row = services.create_execution("weir.batches", "parent", inputs={"file": uri}, inputs_mode="raw", start=False)
    lifecycle.start(row.id)
    services.wait(row.id, 30)
    return Execution.objects.get(id=row.id)


def runs(execution: Any) -> list[Any]:
    from apps.executions.models import TaskRun

    return list(TaskRun.objects.filter(execution_id=execution.id).order_by("seq"))


def test_each_batch_runs_as_a_child_and_their_outputs_are_merged(root: Any) -> None:
    from apps.executions.models import Execution

    parent = run_parent(root, "false", b"a\nb\nc\nd\ne\n")

    assert parent.state == "SUCCESS"
    parent_runs = runs(parent)
    assert [r.task_id for r in parent_runs] == ["each", "each_split", "each_items", "each_merge"]
    children = list(Execution.objects.filter(trigger_execution_id=parent.id).order_by("created"))
    assert sorted(c.outputs["value"] for c in children) == ["1:a,b", "2:c,d", "3:e"]
    assert sorted(c.state for c in children) == ["FAILED", "SUCCESS", "SUCCESS"]
    assert {c.trigger["variables"]["executionId"] for c in children} == {parent.id}
    each = parent_runs[0].outputs
    assert each["numberOfBatches"] == 3
    assert each["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 2, "FAILED": 1}
    assert each["uri"] == parent_runs[3].outputs["subflowOutputs"]
    merged = storages["default"].open(each["uri"][len("kestra:///"):]).read().decode().splitlines()
    assert [json.loads(line) for line in merged] == [{"value": "1:a,b"}, {"value": "2:c,d"}, {"value": "3:e"}]


def test_a_failed_batch_fails_the_parent_with_transmit_failed(root: Any) -> None:
    parent = run_parent(root, "true", b"a\nb\nc\nd\n")

    assert parent.state == "FAILED"
    assert [r.state for r in runs(parent)] == ["FAILED", "SUCCESS", "FAILED"]


def test_a_missing_items_file_fails_the_split_with_a_message(root: Any) -> None:
    from apps.executions.models import LogLine

    parent = run_parent(root, "true", None)

    assert parent.state == "FAILED"
    assert [(r.task_id, r.state) for r in runs(parent)] == [("each", "FAILED"), ("each_split", "FAILED")]
    messages = list(LogLine.objects.filter(execution_id=parent.id, level="ERROR").values_list("message", flat=True))
    assert any("missing.txt" in m for m in messages), messages
