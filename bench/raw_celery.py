"""The raw Celery baseline of `bench/engine.py`: the same workload shapes with no engine at all.

These tasks run in the same worker process as Weir's (`-I bench.raw_celery`), on the same Redis
broker, app settings (late acks, prefetch 1, JSON) and pool, but on their own queue
`weir.bench`. They keep no state anywhere but a few Redis keys, so their time is the floor that
Celery itself sets: what Weir adds on top (PostgreSQL state, the planner, fencing) is the
difference. No result backend is needed: a chain passes values inside its messages, and the
fan-in counts finished branches with `INCR`.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import chain, shared_task

import config.celery  # noqa: F401 - the tasks below belong to Weir's app (same settings)

QUEUE = "weir.bench"
_client: redis.Redis | None = None


def client() -> redis.Redis:
    """One Redis connection per process (the broker's database: keys are flushed per run)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _client


@shared_task(name="bench.step", ignore_result=True)  # type: ignore[untyped-decorator]
def step(value: Any = None) -> Any:
    """A no-op link of a chain: passes its input on, like a Return task passing an output."""
    return value


@shared_task(name="bench.finish", ignore_result=True)  # type: ignore[untyped-decorator]
def finish(value: Any, key: str) -> None:
    """The last link: `INCR key`, which the bench waits for (1 for a chain, N for N chains)."""
    client().incr(key)


@shared_task(name="bench.branch", ignore_result=True)  # type: ignore[untyped-decorator]
def branch(counter: str, total: int, done: str) -> None:
    """One branch of a fan-out; the branch that brings the counter to `total` starts the join."""
    if client().incr(counter) == total:
        join.apply_async(args=[done], queue=QUEUE)


@shared_task(name="bench.join", ignore_result=True)  # type: ignore[untyped-decorator]
def join(done: str) -> None:
    client().incr(done)


def send_chain(length: int, key: str) -> None:
    """A chain of `length` tasks whose last one increments `key`."""
    links = [step.s(0).set(queue=QUEUE)] + [step.s().set(queue=QUEUE) for _ in range(length - 2)]
    chain(*links, finish.s(key).set(queue=QUEUE)).apply_async()


def send_fan_out(width: int, counter: str, done: str) -> None:
    """`width` parallel tasks, then one join task that increments `done`."""
    for _ in range(width):
        branch.apply_async(args=[counter, width, done], queue=QUEUE)


def _install_profiler(prefix: str) -> None:
    """`bench/engine.py --profile`: cProfile each pool process, written at its shutdown. With
    WEIR_BENCH_PROFILE_CLOCK=cpu it counts CPU time (waits on PostgreSQL and Redis vanish)."""
    import cProfile
    import time

    from celery.signals import worker_process_init, worker_process_shutdown

    cpu = os.environ.get("WEIR_BENCH_PROFILE_CLOCK") == "cpu"
    profiler = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()

    def start(**_: Any) -> None:
        profiler.enable()

    def dump(**_: Any) -> None:
        profiler.disable()
        profiler.dump_stats(f"{prefix}-{os.getpid()}.prof")

    worker_process_init.connect(start, weak=False)
    worker_process_shutdown.connect(dump, weak=False)


if os.environ.get("WEIR_BENCH_PROFILE"):
    _install_profiler(os.environ["WEIR_BENCH_PROFILE"])
