"""Script task benchmark: what a Python Script task costs over starting the interpreter.

Run from the project root: `.venv/bin/python bench/scripts.py [--smoke]`. It creates its own
PostgreSQL database (dropped at the end) and runs executions through the engine and the
worker's code in this process (Celery eager: no broker hop, so the figures are the task's own
cost), with the real sandbox (bubblewrap when installed), and measures, median of runs:

- script_overhead_ms: a no-op `python.Script` task run, created → SUCCESS (its recorded state
  dates), minus `python3 -c pass` started directly (the baseline, measured in the same run);
- cached_deps_s: the same task with a `dependencies` list whose environment is already cached;
- log_lines_per_s: one script printing 100 000 lines, lines persisted in the log table per
  second of the task's run.

Targets: overhead ≤ 100 ms, cached dependencies ≤ 1 s, ≥ 20 000 lines/s. Last line:
`script_overhead_ms=<n> cached_deps_s=<n> log_lines_per_s=<n>`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-c", sql], check=True, capture_output=True)


def flow(flow_id: str, body: str) -> str:
    return f"id: {flow_id}\nnamespace: bench.scripts\ntasks:\n{body}"


NOOP = flow("noop", "  - id: s\n    type: io.kestra.plugin.scripts.python.Script\n    script: pass\n")
DEPS = flow("deps", "  - id: s\n    type: io.kestra.plugin.scripts.python.Script\n"
                    "    dependencies: [\"six==1.16.0\"]\n    script: import six\n")


def logs_flow(lines: int) -> str:
    return flow("logs", "  - id: s\n    type: io.kestra.plugin.scripts.python.Script\n    script: |\n"
                        f"      for i in range({lines}):\n"
                        "          print(f\"line {i} of the log benchmark, with some payload\")\n")


def run_task(user: Any, source: str) -> tuple[float, str]:
    """Seconds from the task run's creation to its SUCCESS, and the execution id."""
    from apps.executions import services
    from apps.executions.models import TaskRun
    from apps.executions.runtime import lifecycle
    from apps.flows.services import save_flow

    saved = save_flow(user, source)
    row = services.create_execution(saved.flow.namespace, saved.flow.flow_id, inputs_mode="none", start=False)
    lifecycle.start(row.id)
    services.wait(row.id, 600)
    run = TaskRun.objects.get(execution_id=row.id, task_id="s")
    if run.state != "SUCCESS":
        raise SystemExit(f"the task ended {run.state}: see execution {row.id}")
    dates = {h["state"]: datetime.fromisoformat(h["date"]) for h in run.history}
    return (dates["SUCCESS"] - dates["CREATED"]).total_seconds(), str(row.id)


def bare_python() -> float:
    started = time.perf_counter()
    subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="one run and 2 000 lines: proves the bench runs")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.lines = 1, 2000
    db = f"weir_bench_scripts_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    os.environ.update({"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
                       "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING"})
    os.environ.pop("REDIS_URL", None)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from apps.accounts.models import User
        from apps.executions.models import LogLine
        from config.celery import app

        app.conf.task_always_eager = True
        call_command("migrate", verbosity=0)
        user = User.objects.create_superuser("bench", "bench@example.com", "pw")
        run_task(user, NOOP)  # warm-up: builds the cached environment with the kestra package
        run_task(user, DEPS)  # builds the dependencies' environment once
        base = statistics.median(bare_python() for _ in range(max(3, args.runs)))
        noop = statistics.median(run_task(user, NOOP)[0] for _ in range(args.runs))
        deps = statistics.median(run_task(user, DEPS)[0] for _ in range(args.runs))
        seconds, execution_id = run_task(user, logs_flow(args.lines))
        stored = LogLine.objects.filter(execution_id=execution_id, task_id="s").count()
        from django.db import connections

        connections.close_all()
    finally:
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    overhead_ms = (noop - base) * 1000
    print(f"python3 -c pass (baseline): {base * 1000:.1f} ms")
    print(f"no-op python.Script task, created -> SUCCESS: {noop * 1000:.1f} ms (overhead {overhead_ms:.1f} ms)")
    print(f"cached dependencies task: {deps:.3f} s")
    print(f"log: {stored} lines stored in {seconds:.2f} s")
    if stored < args.lines:
        raise SystemExit(f"only {stored} of {args.lines} lines reached the log table")
    print(f"script_overhead_ms={overhead_ms:.1f} cached_deps_s={deps:.3f} log_lines_per_s={stored / seconds:.0f}")


if __name__ == "__main__":
    main()
