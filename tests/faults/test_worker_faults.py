"""Fault injection with real processes (RELIABILITY.md §2: F1, F2, F4, F5b).

Celery workers and `weir scheduler` run as subprocesses on the test's PostgreSQL database and
the Redis database of REDIS_URL (flushed), with a 2 s lease and a 2 s sweep so that the reaper
and the sweeper act within seconds. Faults are real signals (SIGKILL) and a real loss of every
Redis key (FLUSHDB, standing in for a Redis without persistence killed with -9). The oracle is
the database: every execution must end SUCCESS (I1, no lost work), each killed attempt must be
recorded as lost and followed by a new one (I2, at-least-once). Detection and recovery times are
printed (`pytest -s`) and written as JSON to $TMPDIR/weir-faults/ (see faultkit.report).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults import faultkit

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

NS = "faults"
SLEEPY = f"""\
id: sleepy
namespace: {NS}
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT3S
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ execution.id }}}}"
"""
EFFECT = f"""\
id: effect
namespace: {NS}
tasks:
  - id: effect
    type: io.kestra.plugin.core.debug.Return
    format: "side effect of {{{{ execution.id }}}}"
"""
SHORT = f"""\
id: short
namespace: {NS}
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.4S
  - id: one
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: two
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.one.value }}}} two"
"""


class Cluster:
    """The processes of one test; all of them are stopped when the test ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.services: list[faultkit.Service] = []

    def worker(self, name: str, concurrency: int = 2, **env: str) -> faultkit.Service:
        service = faultkit.worker(name, faultkit.service_env(self.workdir, **env), self.workdir, concurrency).start()
        self.services.append(service)
        return service

    def scheduler(self, **env: str) -> faultkit.Service:
        service = faultkit.scheduler(faultkit.service_env(self.workdir, **env), self.workdir).start()
        self.services.append(service)
        return service

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log()[-4000:]}" for s in {s.name: s for s in self.services}.values())


@pytest.fixture
def cluster(transactional_db: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    import config.celery  # noqa: F401 - the app the test process publishes with

    faultkit.flush_broker()
    cluster = Cluster(tmp_path)
    failed = request.session.testsfailed
    try:
        yield cluster
    finally:
        cluster.stop()  # before the database is flushed: no connection may hold a lock then
        if request.session.testsfailed > failed:
            print(f"\nprocess logs ({tmp_path}):\n{cluster.logs()}")


def assert_all_succeeded(cluster: Cluster, ids: list[str], timeout: float) -> dict[str, str]:
    states = faultkit.wait_terminal(ids, timeout)
    lost = {i: s for i, s in states.items() if s != "SUCCESS"}
    hint = ""
    if "Reverting to default 'localhost'" in cluster.logs():
        hint = ("\nA process published through Celery's default app (amqp://localhost), not config.celery: "
                "the scheduler's re-dispatches went nowhere.")
    assert not lost, f"{len(lost)} of {len(ids)} executions did not succeed: {lost}{hint}"
    return states


def kills_figures(kills: list[tuple[str, int, float]]) -> dict[str, Any]:
    timelines = [faultkit.recovery(run_id, attempt, at) for run_id, attempt, at in kills]
    return {
        "kills": len(kills),
        "detection_s (kill -> lease expired, reaper re-dispatched)": faultkit.summary(
            [t["detected"] for t in timelines]),
        "recovery_s (kill -> task running again)": faultkit.summary([t["rerunning"] for t in timelines]),
        "redispatch_to_running_s": faultkit.summary(
            [round(t["rerunning"] - t["detected"], 3) if t["rerunning"] is not None and t["detected"] is not None
             else None for t in timelines]),
        "completion_s (kill -> task run ended)": faultkit.summary([t["ended"] for t in timelines]),
    }


def attempts_histogram(ids: list[str], task_id: str) -> dict[int, int]:
    from apps.executions.models import TaskRun

    histogram: dict[int, int] = {}
    for attempts in TaskRun.objects.filter(execution_id__in=ids, task_id=task_id).values_list("attempts", flat=True):
        histogram[len(attempts)] = histogram.get(len(attempts), 0) + 1
    return dict(sorted(histogram.items()))


def assert_each_kill_recovered(kills: list[tuple[str, int, float]]) -> None:
    from apps.executions.models import TaskRun

    for run_id, attempt, _ in kills:
        attempts = TaskRun.objects.get(id=run_id).attempts
        assert len(attempts) > attempt and attempts[attempt - 1].get("lost"), (run_id, attempt, attempts)


def test_f1_kill_pool_child(cluster: Cluster) -> None:
    """F1: SIGKILL the pool process running a task, 20 times; the lease reaper re-runs each one."""
    faultkit.deploy(SLEEPY)
    # Spare pool processes, so that a re-dispatched task starts at once instead of queueing.
    workers = [cluster.worker("a", concurrency=4), cluster.worker("b", concurrency=4)]
    cluster.scheduler()
    for w in workers:
        w.wait_ready()
    rng = random.Random(1)
    ids: list[str] = []
    kills: list[tuple[str, int, float]] = []
    started = time.monotonic()
    for _ in range(15):  # rounds of up to 4 busy pool processes, until 20 kills
        if len(kills) >= 20:
            break
        batch = faultkit.submit(NS, "sleepy", 4)
        ids += batch
        faultkit.wait_running(batch, "nap", 1)
        time.sleep(rng.uniform(0.2, 1.5))
        pool = {pid for w in workers for pid in w.pool() if faultkit.alive(pid)}
        for run_id, (_, attempt, pid) in faultkit.running_on(batch, "nap").items():
            if len(kills) < 20 and pid in pool:  # a worker may take seconds to notice a dead child
                kills.append((run_id, attempt, faultkit.kill9(pid)))
    assert len(kills) == 20, f"only {len(kills)} pool processes could be killed mid-task"
    states = assert_all_succeeded(cluster, ids, timeout=90)
    assert_each_kill_recovered(kills)
    faultkit.report("F1-kill-pool-child", {
        "executions": len(ids), "lost": sum(s != "SUCCESS" for s in states.values()),
        "attempts_per_task_run": attempts_histogram(ids, "nap"), **kills_figures(kills),
        "wall_s": round(time.monotonic() - started, 1), "lease_s": 2, "reaper_tick_s": 0.5})


def test_f2_kill_worker_main_process(cluster: Cluster) -> None:
    """F2: SIGKILL a whole worker (main process and pool) 20 times, starting a new one each time."""
    faultkit.deploy(SLEEPY)
    workers = {"a": cluster.worker("a"), "b": cluster.worker("b")}
    # The kills hit whichever worker runs a task, so a re-dispatched task may be on the next one
    # killed, several times in a row: that is the infrastructure failing, not a poisoned task, and
    # the reaper's bound (docs/adr/0012, tests/executions/test_reaper_bound.py) must not end it.
    cluster.scheduler(WEIR_MAX_LEASE_EXPIRIES="21")
    ids: list[str] = []
    kills: list[tuple[str, int, float]] = []
    starts: list[float] = []
    started = time.monotonic()
    for _ in range(20):
        for w in workers.values():
            w.wait_ready()
        batch = faultkit.submit(NS, "sleepy", 2)
        ids += batch
        first = faultkit.wait_running(batch, "nap", 1)
        time.sleep(0.3)
        pid = next(iter(first.values()))[2]
        hosts = [w for w in workers.values() if pid in w.pool()]
        assert hosts, f"pid {pid} running a task is no pool process of the workers"
        target = hosts[0]
        doomed = {run_id: attempt for run_id, (_, attempt, p) in faultkit.running_on(ids, "nap").items()
                  if p in target.pool()}
        at = target.kill9()
        kills += [(run_id, attempt, at) for run_id, attempt in doomed.items()]
        replacement = cluster.worker(target.name)
        workers[target.name] = replacement
        began = time.monotonic()
        replacement.wait_ready()
        starts.append(time.monotonic() - began)
    states = assert_all_succeeded(cluster, ids, timeout=90)
    assert_each_kill_recovered(kills)
    unacked = faultkit.unacked_count()
    faultkit.report("F2-kill-worker", {
        "worker_kills": 20, "executions": len(ids), "lost": sum(s != "SUCCESS" for s in states.values()),
        "attempts_per_task_run": attempts_histogram(ids, "nap"), **kills_figures(kills),
        "replacement_worker_start_s": faultkit.summary(starts),
        "unacked_messages_left_for_redelivery_after_visibility_timeout": unacked,
        "wall_s": round(time.monotonic() - started, 1)})


def test_f4_exit_after_side_effect_before_commit(cluster: Cluster) -> None:
    """F4: the worker dies after the plugin ran and before its result is written; the task re-runs."""
    from apps.executions.models import TaskRun

    faultkit.deploy(EFFECT)
    dying = cluster.worker("dying", WEIR_FAILPOINT="worker.after_side_effect_before_commit:exit137")
    cluster.scheduler()
    dying.wait_ready()
    pool_before = set(dying.pool())
    started = time.monotonic()
    [execution_id] = faultkit.submit(NS, "effect")
    deadline = time.monotonic() + 15
    while all(faultkit.alive(pid) for pid in pool_before):  # until the one that hit the failpoint is gone
        assert time.monotonic() < deadline, f"the failpoint never fired\n{cluster.logs()}"
        time.sleep(0.02)
    died_at = time.time()
    dying.stop()  # it would die again on every attempt
    healthy = cluster.worker("healthy")
    assert_all_succeeded(cluster, [execution_id], timeout=30)
    run = TaskRun.objects.get(execution_id=execution_id, task_id="effect")
    assert len(run.attempts) == 2 and run.attempts[0].get("lost"), run.attempts
    assert run.attempts[1]["state"] == "SUCCESS" and run.outputs == {"value": f"side effect of {execution_id}"}
    assert healthy.process is not None and healthy.process.poll() is None
    faultkit.report("F4-failpoint-after-side-effect", {
        "attempts": len(run.attempts), "side_effect_runs": len(run.attempts),
        "recovery": faultkit.recovery(run.id, 1, died_at), "wall_s": round(time.monotonic() - started, 1)})


def test_f5b_broker_data_lost(cluster: Cluster) -> None:
    """F5b: every Redis key vanishes while messages are queued; the sweeper re-publishes them."""
    from apps.executions.models import TaskRun

    faultkit.deploy(SHORT)
    w = cluster.worker("a")
    cluster.scheduler()
    w.wait_ready()
    ids = faultkit.submit(NS, "short", 20)
    time.sleep(0.5)
    queued = faultkit.queue_length()
    waiting = TaskRun.objects.filter(execution_id__in=ids, state="CREATED").count()
    faultkit.flush_broker()
    flushed_at = time.monotonic()
    assert faultkit.queue_length() == 0
    assert queued > 0, "nothing was queued when Redis lost its data: the test proves nothing"
    assert_all_succeeded(cluster, ids, timeout=60)
    drained = time.monotonic() - flushed_at
    faultkit.report("F5b-broker-flushed", {
        "executions": len(ids), "messages_queued_at_flush": queued, "task_runs_waiting_at_flush": waiting,
        "drain_after_flush_s": round(drained, 2), "sweep_s": 2, "lost": 0})
