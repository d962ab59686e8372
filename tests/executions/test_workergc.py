"""The garbage-collector settings of worker pool processes (apps/executions/workergc.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from apps.executions import workergc


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_a_pool_process_freezes_its_start_up_objects_and_collects_less_often(
        restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEIR_WORKER_GC", raising=False)
    survivor = [object()]  # allocated before the pool process starts working
    workergc.tune()
    assert gc.get_threshold() == workergc.THRESHOLDS
    assert gc.get_freeze_count() > 0
    assert survivor not in gc.get_objects(2)  # frozen objects are not visited by full collections


def test_the_thresholds_come_from_the_environment(restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_WORKER_GC", "700, 10, 10")
    workergc.tune()
    assert gc.get_threshold() == (700, 10, 10)
    monkeypatch.setenv("WEIR_WORKER_GC", "off")
    gc.set_threshold(1234, 5, 6)
    workergc.tune()
    assert gc.get_threshold() == (1234, 5, 6)


def test_a_malformed_setting_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_WORKER_GC", "fast")
    with pytest.raises(ValueError, match="WEIR_WORKER_GC must be 'off' or three integers"):
        workergc.thresholds()
