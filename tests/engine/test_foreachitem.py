"""ForEachItem in the pure engine: cutting rules, the three internal task runs, one subflow per
batch with `taskrun.items`/`taskrun.iteration`, counting, `transmitFailed`, `wait: false`.

The harness plays the host: split and merge work on its in-memory `files`; subflow requests stay
open until a test ends them.
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.engine import context as ctx
from apps.engine.foreachitem import BatchError, parse_size, split_items
from apps.engine.states import State
from tests.engine.engine_harness import Harness

ITEMS = "".join(f"line {n}\n" for n in range(1, 11))  # 10 lines


def flow(extra: str = "", wait: str = "true", transmit: str = "true", rows: int = 4) -> str:
    return f"""
id: parent
namespace: weir.tests
inputs:
  - id: file
    type: FILE
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ inputs.file }}}}"
    batch:
      rows: {rows}
    namespace: weir.tests
    flowId: child
    wait: {wait}
    transmitFailed: {transmit}
    inputs:
      items: "{{{{ taskrun.items }}}}"
      index: "{{{{ taskrun.iteration }}}}"
    labels:
      batch: "{{{{ taskrun.iteration }}}}"
{extra}
"""


def started(source: str, content: str = ITEMS) -> Harness:
    harness = Harness(source, inputs={"file": "mem:///items.txt"})
    harness.files["mem:///items.txt"] = content.encode()
    return harness.start().go()


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, [b"a\n", b"b\n", b"c\n"]),
    ({"rows": 2}, [b"a\nb\n", b"c\n"]),
    ({"partitions": 2}, [b"a\nc\n", b"b\n"]),
    ({"size": 4}, [b"a\nb\n", b"c\n"]),
], ids=["one-row", "rows", "partitions", "bytes"])
def test_split_items_cuts_whole_lines(kwargs: dict[str, Any], expected: list[bytes]) -> None:
    assert split_items(b"a\nb\nc\n", **kwargs) == expected


def test_split_items_keeps_a_last_line_without_separator_and_uses_the_separator() -> None:
    assert split_items(b"a;b;c", rows=2, separator=";") == [b"a;b;", b"c;"]
    assert split_items(b"") == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rows": 0}, "rows"), ({"partitions": 0}, "partitions"), ({"separator": ""}, "separator"),
], ids=["rows", "partitions", "separator"])
def test_split_items_refuses_settings_that_cannot_cut(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BatchError, match=message):
        split_items(b"a\n", **kwargs)


def test_sizes_are_binary_units() -> None:
    assert (parse_size("10MB"), parse_size("512kb"), parse_size(100)) == (10 * 1024 * 1024, 512 * 1024, 100)
    with pytest.raises(BatchError):
        parse_size("ten")


def test_one_subflow_per_batch_with_the_batch_file_and_its_number() -> None:
    harness = started(flow())

    requests = harness.subflow_requests
    assert [r.iteration for r in requests] == [1, 2, 3]
    assert [harness.files[r.inputs["items"]] for r in requests] == [
        b"line 1\nline 2\nline 3\nline 4\n", b"line 5\nline 6\nline 7\nline 8\n", b"line 9\nline 10\n"]
    assert [r.inputs["index"] for r in requests] == [1, 2, 3]
    assert [r.labels for r in requests] == [[{"key": "batch", "value": str(n)}] for n in (1, 2, 3)]
    assert {r.task_run_id for r in requests} == {harness.one("each_items").id}
    assert [r.task_id for r in sorted(harness.ex.task_runs, key=lambda r: r.seq)] == [
        "each", "each_split", "each_items"]
    assert harness.state("each_items") == State.RUNNING
    assert harness.one("each_items").outputs == {"numberOfBatches": 3,
                                                 "iterations": {"CREATED": 3, "RUNNING": 0}}


def test_the_last_subflow_to_end_ends_the_task_and_the_outputs_are_merged_in_batch_order() -> None:
    harness = started(flow())
    first, second, third = harness.open_subflows

    harness.finish_subflow(third, State.SUCCESS, {"value": "c"})
    harness.finish_subflow(first, State.SUCCESS, {"value": "a"})
    assert harness.status() == State.RUNNING
    harness.finish_subflow(second, State.SUCCESS, {"value": "b"})
    harness.go()

    assert harness.status() == State.SUCCESS
    assert [r.task_id for r in sorted(harness.ex.task_runs, key=lambda r: r.seq)] == [
        "each", "each_split", "each_items", "each_merge"]
    each = harness.one("each").outputs or {}
    assert each["numberOfBatches"] == 3
    assert each["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 3}
    merged = harness.one("each_merge").outputs or {}
    assert each["uri"] == merged["subflowOutputs"]
    assert harness.files[each["uri"]].decode().splitlines() == [str({"value": v}) for v in "abc"]


@pytest.mark.parametrize(("transmit", "final"), [("true", State.FAILED), ("false", State.SUCCESS)],
                         ids=["transmit", "ignore"])
def test_a_failed_subflow_fails_the_task_only_with_transmit_failed(transmit: str, final: State) -> None:
    harness = started(flow(transmit=transmit))

    for index, request in enumerate(list(harness.open_subflows)):
        harness.finish_subflow(request, State.FAILED if index == 1 else State.SUCCESS)
    harness.go()

    assert harness.status() == final
    assert harness.state("each_items") == final
    assert (harness.one("each").outputs or {})["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 2,
                                                                 "FAILED": 1}


def test_without_wait_the_task_succeeds_once_the_subflows_are_created() -> None:
    harness = started(flow(wait="false"))

    assert harness.open_subflows == []
    assert [r.wait for r in harness.subflow_requests] == [False, False, False]
    assert harness.status() == State.SUCCESS
    assert harness.one("each_merge").outputs is None


def test_a_repeated_end_notification_is_counted_once() -> None:
    harness = started(flow())
    request = harness.open_subflows[0]
    harness.finish_subflow(request, State.SUCCESS)
    harness.open_subflows.append(request)

    harness.finish_subflow(request, State.SUCCESS)

    assert (harness.one("each_items").outputs or {})["iterations"] == {"CREATED": 2, "RUNNING": 0, "SUCCESS": 1}
    assert harness.status() == State.RUNNING


def test_an_empty_file_makes_no_subflow_and_succeeds() -> None:
    harness = started(flow(), content="")

    assert harness.subflow_requests == []
    assert harness.status() == State.SUCCESS
    assert (harness.one("each").outputs or {})["numberOfBatches"] == 0


def test_a_task_after_it_reads_the_merged_outputs() -> None:
    extra = """  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.each.numberOfBatches }} {{ outputs.each_items.iterations.SUCCESS }}"
"""
    harness = started(flow(extra))
    for request in list(harness.open_subflows):
        harness.finish_subflow(request, State.SUCCESS)
    harness.go()

    assert harness.status() == State.SUCCESS
    assert (harness.one("after").outputs or {})["value"] == "3 3"


WORKING_DIRECTORY = """
id: wd
namespace: weir.tests
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.ForEach
    values: ["x"]
    tasks:
      - id: dir
        type: io.kestra.plugin.core.flow.WorkingDirectory
        tasks:
          - id: inside
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }} {{ workerTaskrun.id }}"
  - id: outside
    type: io.kestra.plugin.core.debug.Return
    format: "{{ workerTaskrun ?? 'none' }}"
"""


def test_working_directory_children_see_its_value_and_their_own_run_as_worker_taskrun() -> None:
    harness = Harness(WORKING_DIRECTORY).start().go()

    inside = harness.one("inside")
    assert harness.status() == State.SUCCESS
    assert (inside.outputs or {})["value"] == f"x {inside.id}"
    assert (harness.one("outside").outputs or {})["value"] == "none"
    context = ctx.build(harness.flow, harness.ex, harness.env(), inside, harness.flow.node("inside"))
    assert context["workerTaskrun"]["id"] == inside.id
    assert inside.value is None  # only its rendering borrows the value, not the run itself
