"""Scheduler benchmark: how late a schedule's executions are created, at scale (DESIGN.md §4b).

Run from the project root: `.venv/bin/python bench/scheduler.py` (no configuration needed).

1. PostgreSQL: a fresh database, 10 000 flows each with an every-minute `Schedule`, ONE
   `weir scheduler` subprocess (the real process, its broker a Redis database of the bench's own,
   10-13, as bench/engine.py takes them). No worker runs: the bench measures the trigger loop,
   so after each slot it marks that slot's executions SUCCESS itself (otherwise the no-overlap
   rule would hold the next slot, and 10 000 executions a minute are far beyond this machine's
   workers); the sweeper's delay is raised so that it does not start executions the bench is
   about to finish.
2. Standalone: 1 000 such flows on the default `weir standalone` set-up (a fresh SQLite file,
   the scheduler loop in a thread of a subprocess, as `weir standalone` runs it); the worker
   threads are not started and the bench finishes the executions the same way.

For the first 3 slots after the trigger rows exist, it reads every execution the schedule
created: lag = execution row `created` - slot date, p50 and p95 per part. The `created` stamp is
taken when the row is written, and a batch commits a little later, so the bench also polls
(every 20 ms) when 95 % and all of each slot's executions are committed and visible; the figure
reported as p95 is the larger of the two. `missed` = (flow, slot) pairs without an execution;
`duplicated` = executions beyond one per (flow, slot).
Flows are inserted in bulk (the rows `flows.services` would write) to keep set-up short.

Last line: `slot_lag_p95_ms=<n> standalone_slot_lag_p95_ms=<n> missed=<n> duplicated=<n>`
(targets: ≤ 1000, ≤ 2000, 0, 0). `--smoke`: 200 and 100 flows on a 5-second schedule.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NAMESPACE = "bench.sched"
SLOTS = 3


def flow_source(index: int, cron: str, with_seconds: bool) -> str:
    return f"""\
id: f{index:05d}
namespace: {NAMESPACE}
tasks:
  - id: stamp
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.date }}}}"
triggers:
  - id: every
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
    withSeconds: {"true" if with_seconds else "false"}
"""


def deploy(count: int, cron: str, with_seconds: bool) -> None:
    from apps.flows.models import Flow, FlowRevision, source_digest

    sources = [flow_source(i, cron, with_seconds) for i in range(count)]
    flows = Flow.objects.bulk_create([Flow(namespace=NAMESPACE, flow_id=f"f{i:05d}", revision=1, source=s,
                                           task_count=1) for i, s in enumerate(sources)], batch_size=1000)
    if any(f.pk is None for f in flows):
        flows = list(Flow.objects.filter(namespace=NAMESPACE).order_by("flow_id"))
    FlowRevision.objects.bulk_create([FlowRevision(flow=f, revision=1, source=s, digest=source_digest(s))
                                      for f, s in zip(flows, sources, strict=True)], batch_size=1000)


def wait_states(count: int, timeout: float = 300) -> None:
    from apps.triggers.models import TriggerState

    deadline = time.monotonic() + timeout
    while TriggerState.objects.filter(namespace=NAMESPACE, next_date__isnull=False).count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the scheduler did not create {count} trigger rows in {timeout}s")
        time.sleep(0.5)


def measure(count: int, cron: str, with_seconds: bool, finish: bool) -> dict[str, Any]:
    """Watch 3 slots after now (+2 s); return lag percentiles and missed/duplicated counts."""
    from django.utils import timezone

    from apps.executions.models import Execution
    from apps.triggers.cron import Cron

    schedule = Cron(cron, with_seconds)
    slot = schedule.next_after(timezone.now() + timedelta(seconds=2))
    slots = [slot]
    for _ in range(SLOTS - 1):
        slots.append(schedule.next_after(slots[-1]))
    gap = (slots[1] - slots[0]).total_seconds()
    visible: list[tuple[float | None, float | None]] = []

    def finish_all() -> None:
        if finish:  # no worker runs them: end them so that the no-overlap rule lets the next slot fire
            Execution.objects.filter(state="CREATED", namespace=NAMESPACE).update(state="SUCCESS")

    finish_all()
    for current in slots:
        wait = (current - timezone.now()).total_seconds() - 0.05
        if wait > 0:
            time.sleep(wait)
        t95 = t100 = None
        deadline = current + timedelta(seconds=gap * 0.8)
        while timezone.now() < deadline:  # when are 95 % and all of the slot's executions committed?
            # (`created` is indexed and not before the slot: the poll reads only the newest rows)
            done = Execution.objects.filter(namespace=NAMESPACE, created__gte=current - timedelta(seconds=1),
                                            trigger__variables__date=current.isoformat()).count()
            elapsed = (timezone.now() - current).total_seconds() * 1000
            if t95 is None and done >= 0.95 * count:
                t95 = elapsed
            if done >= count:
                t100 = elapsed
                break
            time.sleep(0.02)
        visible.append((t95, t100))
        finish_all()
    time.sleep(1)
    wanted = {s.isoformat(): s for s in slots}
    seen: dict[tuple[str, str], int] = {}
    lags: list[float] = []
    for flow_id, created, trigger in Execution.objects.filter(namespace=NAMESPACE).values_list(
            "flow_id", "created", "trigger"):
        date = (trigger or {}).get("variables", {}).get("date")
        if date not in wanted:
            continue
        seen[(flow_id, date)] = seen.get((flow_id, date), 0) + 1
        lags.append((created - wanted[date]).total_seconds() * 1000)
    lags.sort()
    committed = [v[0] for v in visible if v[0] is not None]
    return {
        "visible_p95_ms": round(max(committed)) if len(committed) == len(visible) else None,
        "visible_all_ms": [None if v[1] is None else round(v[1]) for v in visible],
        "flows": count, "slots": [s.isoformat() for s in slots], "executions": len(lags),
        "p50_ms": round(statistics.median(lags)) if lags else None,
        "p95_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.95))]) if lags else None,
        "max_ms": round(lags[-1]) if lags else None,
        "missed": count * len(slots) - len(seen), "duplicated": sum(n - 1 for n in seen.values()),
    }


# ---------------------------------------------------------------------------------------------
# PostgreSQL + one `weir scheduler`


def bench_postgres(count: int, cron: str, with_seconds: bool) -> dict[str, Any]:
    from bench.engine import claim_redis, psql, release_redis

    db = f"weir_bench_sched_{os.getpid()}"
    broker = claim_redis()
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "REDIS_URL": broker,
           "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING", "WEIR_SWEEP_SECONDS": "600"}
    os.environ.update(env)
    log_path = Path(tempfile.gettempdir()) / f"weir-bench-scheduler-{os.getpid()}.log"
    scheduler = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        started = time.perf_counter()
        deploy(count, cron, with_seconds)
        print(f"PostgreSQL: {count} flows inserted in {time.perf_counter() - started:.1f}s", flush=True)
        log = open(log_path, "wb")  # noqa: SIM115 - the scheduler writes to it until it stops
        scheduler = subprocess.Popen([sys.executable, "-m", "apps.cli.main", "scheduler"], cwd=ROOT, env=env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started = time.perf_counter()
        wait_states(count)
        print(f"PostgreSQL: the scheduler made {count} trigger rows in {time.perf_counter() - started:.1f}s",
              flush=True)
        return measure(count, cron, with_seconds, finish=True)
    finally:
        if scheduler is not None and scheduler.poll() is None:
            os.killpg(scheduler.pid, signal.SIGTERM)
            scheduler.wait(timeout=30)
        if sys.exc_info()[0] is None:
            log_path.unlink(missing_ok=True)
        else:
            print(f"scheduler log: {log_path}")
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        release_redis(broker)


# ---------------------------------------------------------------------------------------------
# Standalone (SQLite, in-process worker and scheduler)


def bench_standalone(count: int, cron: str, with_seconds: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="weir-bench-sched-standalone-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{workdir / 'weir.sqlite3'}", "WEIR_DATA_DIR": str(workdir),
                "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING"})
    try:
        done = subprocess.run([sys.executable, __file__, "--standalone-child", "--count", str(count),
                               "--cron", cron] + (["--with-seconds"] if with_seconds else []),
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            print((done.stdout + done.stderr)[-3000:])
            return {"flows": count, "p50_ms": None, "p95_ms": None, "missed": count * SLOTS, "duplicated": 0}
        result: dict[str, Any] = json.loads(lines[-1][7:])
        result["locked"] = "database is locked" in done.stdout + done.stderr
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def standalone_child(count: int, cron: str, with_seconds: bool) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from apps.cli.standalone import start_scheduler_thread

    call_command("migrate", verbosity=0)
    deploy(count, cron, with_seconds)
    start_scheduler_thread()
    wait_states(count)
    print("RESULT " + json.dumps(measure(count, cron, with_seconds, finish=True)), flush=True)
    os._exit(0)  # the worker and scheduler threads are daemons; skip their shutdown


def p95(row: dict[str, Any]) -> int | None:
    """The reported p95: of `created` stamps, or of commit visibility when that is later."""
    values = [v for v in (row.get("p95_ms"), row.get("visible_p95_ms")) if v is not None]
    return max(values) if len(values) == 2 else None


def show(name: str, row: dict[str, Any]) -> None:
    print(f"{name}: {row['flows']} flows, {row.get('executions')} executions over slots {row.get('slots')}: "
          f"lag (created) p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, max {row.get('max_ms')} ms; "
          f"95 % committed after {row.get('visible_p95_ms')} ms (worst slot), all after {row.get('visible_all_ms')} ms; "
          f"missed {row['missed']}, duplicated {row['duplicated']}"
          + (f", 'database is locked' {'SEEN' if row.get('locked') else 'never'}" if "locked" in row else ""),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="200/100 flows on a 5-second schedule")
    parser.add_argument("--only", choices=("postgres", "standalone"), help="run one part only")
    parser.add_argument("--standalone-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cron", default="* * * * *", help=argparse.SUPPRESS)
    parser.add_argument("--with-seconds", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.standalone_child:
        standalone_child(args.count, args.cron, args.with_seconds)
        return
    pg_flows, sa_flows = (200, 100) if args.smoke else (10_000, 1_000)
    cron, with_seconds = ("*/5 * * * * *", True) if args.smoke else ("* * * * *", False)
    skipped = {"flows": 0, "p50_ms": None, "p95_ms": None, "missed": 0, "duplicated": 0}
    pg = bench_postgres(pg_flows, cron, with_seconds) if args.only != "standalone" else dict(skipped)
    show("PostgreSQL, one weir scheduler", pg)
    sa = bench_standalone(sa_flows, cron, with_seconds) if args.only != "postgres" else dict(skipped)
    show("standalone (SQLite, in-process)", sa)
    for name, value, target in (("slot_lag_p95_ms", p95(pg), 1000), ("standalone_slot_lag_p95_ms", p95(sa), 2000)):
        if value is None or value > target:
            print(f"TARGET MISSED {name}: {value} > {target}", flush=True)
    missed, duplicated = pg["missed"] + sa["missed"], pg["duplicated"] + sa["duplicated"]
    print(f"slot_lag_p95_ms={p95(pg)} standalone_slot_lag_p95_ms={p95(sa)} "
          f"missed={missed} duplicated={duplicated}")


if __name__ == "__main__":
    main()
