"""F7 (RELIABILITY.md §1.2, DESIGN.md §4b): three `weir scheduler` processes on PostgreSQL,
SIGKILLed at random and restarted, while a per-second schedule (recoverMissedSchedules ALL) runs
for at least 120 slots. Oracle: every slot of the window has exactly one execution.

A Celery worker runs the executions (the no-overlap rule holds each slot until the previous
execution ends). Figures are printed (`pytest -s`) and written to $TMPDIR/weir-faults/.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.faults import faultkit

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

NS = "faults"
EVERY_SECOND = f"""\
id: every_second
namespace: {NS}
tasks:
  - id: stamp
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.date }}}}"
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    recoverMissedSchedules: ALL
"""
SLOTS = 125


@pytest.fixture
def services(transactional_db: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[faultkit.Service]]:
    import config.celery  # noqa: F401 - the app the test process publishes with

    faultkit.flush_broker()
    started: list[faultkit.Service] = []
    failed = request.session.testsfailed
    try:
        yield started
    finally:
        for service in started:
            service.stop()
        if request.session.testsfailed > failed:
            for service in started:
                print(f"--- {service.name}\n{service.log()[-3000:]}")


def _scheduler(name: str, workdir: Path) -> faultkit.Service:
    service = faultkit.scheduler(faultkit.service_env(workdir), workdir)
    service.name, service.log_path = name, workdir / f"{name}.log"
    return service


def _slot_counts() -> Counter[str]:
    from apps.executions.models import Execution

    return Counter(t["variables"]["date"] for t in Execution.objects.filter(flow_id="every_second")
                   .values_list("trigger", flat=True))


def test_f7_schedulers_killed_at_random(services: list[faultkit.Service], tmp_path: Path) -> None:
    from apps.triggers.models import TriggerState

    faultkit.deploy(EVERY_SECOND)
    worker = faultkit.worker("w", faultkit.service_env(tmp_path), tmp_path, concurrency=2).start()
    services.append(worker)
    schedulers = [_scheduler(f"scheduler-{i}", tmp_path).start() for i in range(3)]
    services.extend(schedulers)
    worker.wait_ready()
    deadline = time.monotonic() + 60
    while not TriggerState.objects.filter(flow_id="every_second").exclude(date=None).exists():
        assert time.monotonic() < deadline, "no scheduler fired the first slot"
        time.sleep(0.1)
    first = TriggerState.objects.get(flow_id="every_second").date
    assert first is not None
    rng = random.Random(7)
    kills = 0
    started = time.monotonic()
    while time.monotonic() - started < SLOTS:
        time.sleep(rng.uniform(0.3, 3.0))
        victim = rng.choice(schedulers)
        if victim.process is not None and victim.process.poll() is None:
            victim.kill9()
            kills += 1
        time.sleep(rng.uniform(0.0, 1.5))
        for service in schedulers:
            if service.process is not None and service.process.poll() is not None:
                service.start()
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    expected = [(first + timedelta(seconds=i)).isoformat() for i in range(int((last - first).total_seconds()) + 1)]
    caught_up = time.monotonic() + 90
    while True:
        counts = _slot_counts()
        if all(counts.get(slot) for slot in expected) or time.monotonic() > caught_up:
            break
        time.sleep(0.5)
    catch_up_s = round(time.monotonic() - (caught_up - 90), 1)
    missed = [slot for slot in expected if not counts.get(slot)]
    duplicated = {slot: n for slot, n in counts.items() if n > 1}
    figures = {"slots": len(expected), "kills": kills, "missed": len(missed), "duplicated": len(duplicated),
               "executions": sum(counts.values()), "catch_up_after_last_kill_s": catch_up_s}
    faultkit.report("F7-schedulers-killed", figures)
    print(f"\nF7: {figures}")
    assert len(expected) >= 120
    assert not duplicated, duplicated
    assert not missed, missed[:10]
