"""The planner and its behaviours meet only in `apps.engine.protocol` (docs/adr/0022)."""

from __future__ import annotations

from collections.abc import Callable

import grimp
import pytest

import apps.engine  # noqa: F401  (wires the behaviours, as every consumer's import does)
from apps.engine import protocol
from tests.importgraph import cycles

BEHAVIOURS = ("flowables", "foreachitem", "retry", "branches", "rendering", "protocol")
SLOTS = ("flowable_behaviour", "start_flowable", "resume_pause", "start_internal_part", "host_step_ended",
         "iteration_ended", "attempt_ended")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("apps", include_external_packages=False, cache_dir=None)


def test_no_behaviour_imports_the_planner(graph: grimp.ImportGraph) -> None:
    for name in BEHAVIOURS:
        assert not graph.chain_exists(importer=f"apps.engine.{name}", imported="apps.engine.planner"), name


def test_the_planner_imports_no_behaviour(graph: grimp.ImportGraph) -> None:
    imported = graph.find_modules_directly_imported_by("apps.engine.planner")
    assert not imported & {"apps.engine.flowables", "apps.engine.foreachitem", "apps.engine.retry"}


def test_the_engine_has_no_import_cycle(graph: grimp.ImportGraph) -> None:
    assert cycles(graph, "apps.engine") == []


def test_importing_the_engine_fills_every_slot() -> None:
    for name in SLOTS:
        slot = getattr(protocol, name)
        assert callable(slot()), name


def test_a_slot_is_filled_once() -> None:
    slot: protocol.Slot[Callable[[], int]] = protocol.Slot("example")
    with pytest.raises(RuntimeError, match="slot 'example' is empty"):
        slot()

    def first() -> int:
        return 1

    def second() -> int:
        return 2

    slot.register(first)
    slot.register(first)  # the same function again (a re-import) is harmless
    with pytest.raises(RuntimeError, match=r"already filled by .*first"):
        slot.register(second)
    assert slot()() == 1
