"""Scale benchmark: whether the engine's cost per task run stays flat as executions grow.

Run from the project root: `.venv/bin/python bench/scale.py` (no configuration needed). In one run:

- parallel: on PostgreSQL + Redis with one Celery worker (prefork, concurrency 2; the set-up of
  `bench/engine.py`, whose helpers this reuses), one execution of a `Parallel` of N `Return`
  tasks then a join task, for N = 100, 1 000, 10 000, beside the same fan-out as raw Celery
  (`bench/raw_celery.py`: N tasks, the last to finish sends the join) measured in the same run
  (a width under 1 000 is run several times, both sides alike, and its median run is taken);
- f8: 1 000 executions of a 3-task flow with a flow concurrency limit (`concurrency.limit`,
  behaviour QUEUE), all submitted at once (RELIABILITY.md F8): executions per second from the
  first submission to the last terminal state, every one SUCCESS, and the limit never exceeded
  (the most executions of the flow RUNNING at one moment, from their start and end dates);
- logs: one Python Script task printing 100 000 lines, every 1 000th holding a secret: lines per
  second of the execution, their `seq` contiguous, their text in the printed order, the secret
  never stored;
- foreach: on the standalone default (a fresh SQLite file, no Redis, the in-process worker and
  scheduler, in a subprocess), one execution of a `ForEach` over N values (default
  `concurrencyLimit` 1) with one `Return` task, for N = 100, 1 000, 10 000.

The growth figures compare the cost per task run at the largest size with that at 100 (target
≤ 1.3); the ratio compares Weir's Parallel with raw Celery at each width (target ≤ 2). Last line:
`w2_10000_ratio=<r> growth_pg=<g> growth_standalone=<g> foreach_10000_standalone_s=<n>
f8_exec_per_s=<n> log_lines_per_s=<n>` (names keep `10000` whatever sizes were chosen).

Options: `--only parallel,f8,logs,foreach` runs a subset (figures of skipped parts print as
`nan`); `--widths`, `--foreach-sizes`, `--f8-executions`, `--f8-limit`, `--log-lines` override the
sizes; `--workers N` starts N worker processes (each `--concurrency`, default 2) to measure how the
model scales (docs/scaling.md); `--profile` runs cProfile in the worker's pool processes (as
`bench/engine.py --profile`). `--smoke`: tiny sizes, seconds (scripts/bench-smoke.sh).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import engine as eng  # noqa: E402 - the path above makes `bench` importable

NAMESPACE = "bench.scale"
SECRET_NAME = "BENCH_SCALE_TOKEN"
SECRET_VALUE = "s3cr3t-scale-token-7f1c"
TIMEOUT = 1500.0


# ---------------------------------------------------------------------------------------------
# The flows


def flow_parallel(width: int) -> str:
    lines = [f"id: par{width}", f"namespace: {NAMESPACE}", "tasks:",
             "  - id: fan", "    type: io.kestra.plugin.core.flow.Parallel", "    tasks:"]
    for i in range(width):
        lines += [f"      - id: b{i}", "        type: io.kestra.plugin.core.debug.Return", f"        format: b{i}"]
    lines += ["  - id: join", "    type: io.kestra.plugin.core.debug.Return", "    format: joined"]
    return "\n".join(lines) + "\n"


def flow_foreach(size: int) -> str:
    return "\n".join([
        f"id: each{size}", f"namespace: {NAMESPACE}", "tasks:",
        "  - id: loop", "    type: io.kestra.plugin.core.flow.ForEach",
        f"    values: \"{{{{ range(0, {size - 1}) }}}}\"",
        "    tasks:",
        "      - id: item", "        type: io.kestra.plugin.core.debug.Return",
        "        format: \"{{ taskrun.value }}\"",
    ]) + "\n"


def flow_f8(limit: int) -> str:
    lines = ["id: f8", f"namespace: {NAMESPACE}", "concurrency:", f"  limit: {limit}", "  behavior: QUEUE",
             "tasks:"]
    for i in range(3):
        lines += [f"  - id: s{i}", "    type: io.kestra.plugin.core.debug.Return", f"    format: s{i}"]
    return "\n".join(lines) + "\n"


def flow_logs(count: int) -> str:
    return "\n".join([
        "id: logs", f"namespace: {NAMESPACE}", "tasks:",
        "  - id: s", "    type: io.kestra.plugin.scripts.python.Script", "    script: |",
        f"      token = \"{{{{ secret('{SECRET_NAME}') }}}}\"",
        f"      for i in range({count}):",
        "          print(f\"line {i} token={token}\" if i % 1000 == 0 else f\"line {i} of the log benchmark\")",
    ]) + "\n"


def deploy(sources: list[str]) -> None:
    from apps.accounts.models import User
    from apps.flows.services import save_flow

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "b@x", "pw")
    for source in sources:
        save_flow(user, source)


def submit(flow_id: str) -> str:
    from apps.executions import services

    return str(services.create_execution(NAMESPACE, flow_id, inputs_mode="none").id)


def run_executions(flow_id: str, count: int, timeout: float = TIMEOUT) -> tuple[float, list[str], dict[str, str]]:
    started = time.perf_counter()
    ids = [submit(flow_id) for _ in range(count)]
    states = eng.wait_all(ids, timeout=timeout)
    elapsed = time.perf_counter() - started
    bad = {i: s for i, s in states.items() if s != "SUCCESS"}
    if bad or len(states) != count:
        raise SystemExit(f"{flow_id}: {len(bad)} of {count} executions did not succeed: {list(bad.items())[:5]} "
                         f"(worker log: {eng.WORKER_LOG})")
    return elapsed, ids, states


def raw_fan_out(width: int) -> float:
    from bench import raw_celery

    eng._round[0] += 1
    key = f"bench:scale:{eng._round[0]}"
    started = time.perf_counter()
    raw_celery.send_fan_out(width, key + ":n", key)
    eng.wait_key(key, 1, timeout=TIMEOUT)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# PostgreSQL + Redis parts


def bench_parallel(widths: list[int], workers: list[subprocess.Popen[bytes]]) -> dict[int, dict[str, float]]:
    run_executions(f"par{widths[0]}", 1)  # warm-up: compiled flows, forked pools, connections
    raw_fan_out(widths[0])
    out: dict[int, dict[str, float]] = {}
    for width in widths:
        rounds = repeats(width)
        before = Costs.take(workers)
        engine_s = statistics.median(run_executions(f"par{width}", 1)[0] for _ in range(rounds))
        spent = Costs.take(workers) - before
        raw_s = statistics.median(raw_fan_out(width) for _ in range(rounds))
        out[width] = {"engine": engine_s, "raw": raw_s, "ratio": engine_s / raw_s}
        each = f" (median of {rounds})" if rounds > 1 else ""
        print(f"  Parallel {width:>6}: engine {engine_s:8.3f} s ({engine_s / width * 1000:6.2f} ms per task run)"
              f"  raw Celery {raw_s:7.3f} s  ratio {engine_s / raw_s:5.2f}x{each}", flush=True)
        print(f"      per task run: {spent.per(width * rounds)}", flush=True)
    return out


def repeats(width: int) -> int:
    """How many times a width is run, engine and raw Celery alike: one run of 100 tasks lasts
    a tenth of a second, within the machine's noise, so narrow widths are run until they make
    about 1 000 task runs (at most 10 times) and the median run is taken."""
    return max(1, min(10, math.ceil(1000 / width)))


class Costs:
    """CPU seconds of the worker processes and of the database's server processes (from /proc:
    PostgreSQL runs on this host), and Redis commands, at one moment; differences give what a
    run cost (docs/scaling.md)."""

    def __init__(self, worker_cpu: float, db_cpu: float, redis_commands: int) -> None:
        self.worker_cpu, self.db_cpu, self.redis_commands = worker_cpu, db_cpu, redis_commands

    @staticmethod
    def take(workers: list[subprocess.Popen[bytes]]) -> Costs:
        from bench import raw_celery

        pids = {worker.pid for worker in workers}
        pids |= {pid for pid, parent in _processes() if parent in pids}
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()")
            backends = {int(pid) for (pid,) in cursor.fetchall()}
        stats = raw_celery.client().info("commandstats")
        commands = sum(int(value["calls"]) for value in stats.values() if isinstance(value, dict))
        return Costs(sum(_cpu(pid) for pid in pids), sum(_cpu(pid) for pid in backends), commands)

    def __sub__(self, other: Costs) -> Costs:
        return Costs(self.worker_cpu - other.worker_cpu, self.db_cpu - other.db_cpu,
                     self.redis_commands - other.redis_commands)

    def per(self, count: int) -> str:
        return (f"worker CPU {self.worker_cpu / count * 1000:.2f} ms, PostgreSQL CPU "
                f"{self.db_cpu / count * 1000:.2f} ms, Redis commands {self.redis_commands / count:.1f}")


def _processes() -> list[tuple[int, int]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found.append((int(entry), int(fields[1])))
    return found


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_f8(count: int, limit: int) -> dict[str, Any]:
    """The limit is checked on committed states, polled while the executions run (what the
    engine's own count sees): recorded start and end dates are taken when a decision begins,
    before the count that admits an execution, so overlapping dates do not mean a breach."""
    from django.db import connection

    from apps.engine.states import TERMINATED
    from apps.executions.models import BUSY_STATES

    run_executions("f8", 2)  # warm-up
    terminal = {state.value for state in TERMINATED}
    started = time.perf_counter()
    ids = [submit("f8") for _ in range(count)]
    submitted = time.perf_counter() - started
    most = 0
    states: dict[str, str] = {}
    deadline = time.monotonic() + TIMEOUT
    active = ["QUEUED", *BUSY_STATES]
    while True:
        # Every 2 ms, the flow's busy and queued executions (one range of the partial index of active
        # executions); the 1 000 states only once none is left: reading them on every poll cost
        # PostgreSQL more than the engine's own work did.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FILTER (WHERE state = ANY(%s)), count(*) FROM weir_execution "
                           "WHERE namespace = %s AND flow_id = 'f8' AND state = ANY(%s)",
                           [list(BUSY_STATES), NAMESPACE, active])
            busy, left = cursor.fetchone()
            most = max(most, int(busy))
            if not left:
                cursor.execute("SELECT id, state FROM weir_execution WHERE id = ANY(%s)", [ids])
                states = dict(cursor.fetchall())
        if not left and all(state in terminal for state in states.values()) and len(states) == count:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"F8: not finished after {TIMEOUT} s (worker log: {eng.WORKER_LOG})")
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    bad = [state for state in states.values() if state != "SUCCESS"]
    if bad:
        raise SystemExit(f"F8: {len(bad)} of {count} executions did not succeed: {bad[:5]}")
    rate = count / elapsed
    print(f"  F8: {count} executions (flow concurrency limit {limit}) all SUCCESS in {elapsed:.2f} s: "
          f"{rate:.1f} executions/s (the {count} submissions took {submitted:.2f} s of it); at most {most} busy "
          "at once (polled)", flush=True)
    if most > limit:
        raise SystemExit(f"F8: the flow concurrency limit {limit} was exceeded ({most} at once)")
    return {"seconds": elapsed, "rate": rate, "most": most}


def bench_logs(count: int) -> dict[str, Any]:
    from apps.executions.models import LogLine

    run_executions("logs", 1)  # warm-up: the script's environment
    elapsed, ids, _ = run_executions("logs", 1)
    lines = list(LogLine.objects.filter(execution_id=ids[0]).order_by("seq").values_list("seq", "task_id",
                                                                                           "message"))
    seqs = [seq for seq, _, _ in lines]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        raise SystemExit("logs: the lines' seq is not contiguous")
    printed = [message for _, task, message in lines if task == "s" and message.startswith("line ")]
    numbers = [int(message.split()[1]) for message in printed]
    if numbers != list(range(count)):
        raise SystemExit(f"logs: {len(numbers)} task lines, not the {count} printed in order")
    if any(SECRET_VALUE in message for _, _, message in lines):
        raise SystemExit("logs: the secret reached the log table unmasked")
    masked = sum(1 for message in printed if "token=" in message)
    rate = count / elapsed
    print(f"  logs: {count} lines in {elapsed:.2f} s ({rate:.0f} lines/s), seq contiguous, in order, "
          f"{masked} lines with the secret all masked", flush=True)
    return {"seconds": elapsed, "rate": rate}


def bench_postgres(args: argparse.Namespace, parts: set[str]) -> dict[str, Any]:
    db = f"weir_bench_scale_{os.getpid()}"
    broker = eng.claim_redis()
    eng.psql(f"DROP DATABASE IF EXISTS {db}")
    eng.psql(f"CREATE DATABASE {db}")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "REDIS_URL": broker,
           "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING", **max_tasks(args.widths),
           f"SECRET_{SECRET_NAME}": base64.b64encode(SECRET_VALUE.encode()).decode()}
    if args.profile:
        env["WEIR_BENCH_PROFILE"] = str(Path(tempfile.gettempdir()) / f"weir-bench-profile-{os.getpid()}")
    os.environ.update(env)
    workers: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        for number in range(args.workers):
            workers.append(start_worker(env, number, args.concurrency))
        import django

        django.setup()
        deploy([flow_parallel(w) for w in sorted(set(args.widths))] + [flow_f8(args.f8_limit),
                                                                         flow_logs(args.log_lines)])
        for worker in workers:
            eng.wait_worker(worker)
        print(f"PostgreSQL + Redis, {args.workers} worker process(es) (prefork, concurrency {args.concurrency}):",
              flush=True)
        if "parallel" in parts:
            results["parallel"] = bench_parallel(args.widths, workers)
        if "f8" in parts:
            results["f8"] = bench_f8(args.f8_executions, args.f8_limit)
        if "logs" in parts:
            results["logs"] = bench_logs(args.log_lines)
        return results
    finally:
        for worker in workers:
            eng.stop(worker)
        from django.db import connections

        connections.close_all()
        eng.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        eng.release_redis(broker)
        if args.profile:
            eng.print_profile(env["WEIR_BENCH_PROFILE"])


def start_worker(env: dict[str, str], number: int, concurrency: int) -> subprocess.Popen[bytes]:
    """`bench/engine.py`'s worker, named per process so that several can run side by side."""
    log = open(eng.WORKER_LOG.with_suffix(f".{number}.log"), "wb")  # noqa: SIM115 - the worker writes to it
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "-Q", "weir.tasks,weir.bench",
         "-c", str(concurrency), "--without-heartbeat", "--without-mingle", "--without-gossip",
         "-I", "bench.raw_celery", "-n", f"scale-{os.getpid()}-{number}@%h", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


# ---------------------------------------------------------------------------------------------
# Standalone part (SQLite, in-process worker)


def bench_foreach(sizes: list[int]) -> dict[int, float]:
    workdir = Path(tempfile.mkdtemp(prefix="weir-bench-scale-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{workdir / 'weir.sqlite3'}", "WEIR_DATA_DIR": str(workdir),
                "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING"})
    print("standalone default (SQLite, in-process worker):", flush=True)
    try:
        child = subprocess.Popen([sys.executable, __file__, "--foreach-child", ",".join(map(str, sizes))], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out: dict[int, float] = {}
        tail: list[str] = []
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("RESULT "):
                size, seconds = json.loads(line[7:])
                out[int(size)] = float(seconds)
                print(f"  ForEach {size:>6}: {seconds:8.2f} s ({seconds / size * 1000:6.2f} ms per task run)",
                      flush=True)
            else:
                tail = [*tail, line][-30:]
        if child.wait() != 0 or len(out) != len(sizes):
            print("".join(tail))
            raise SystemExit("the standalone ForEach part failed")
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def foreach_child(sizes: list[int]) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from apps.cli.standalone import start_background_services

    call_command("migrate", verbosity=0)
    deploy([flow_foreach(size) for size in sorted({*sizes, 10})])
    start_background_services()
    run_executions("each10", 1)  # warm-up
    for size in sizes:
        elapsed = run_executions(f"each{size}", 1)[0]
        print("RESULT " + json.dumps([size, elapsed]), flush=True)
    os._exit(0)  # the worker and scheduler threads are daemons; skip their shutdown


# ---------------------------------------------------------------------------------------------


def max_tasks(widths: list[int]) -> dict[str, str]:
    """A Parallel of 10 000 tasks is one flow of 10 002 tasks: above the default WEIR_MAX_TASKS
    (2 000), which the bench raises for its own database only."""
    needed = max(widths, default=0) + 2
    current = int(os.environ.get("WEIR_MAX_TASKS", "2000"))
    return {"WEIR_MAX_TASKS": str(max(needed, current))}


def growth(times: dict[int, float]) -> float:
    """Cost per task run at the largest size over that at the smallest."""
    if len(times) < 2:
        return math.nan
    small, large = min(times), max(times)
    return (times[large] / large) / (times[small] / small)


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    eng.exit_on_signals()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="parallel,f8,logs,foreach")
    parser.add_argument("--widths", type=sizes, default=[100, 1000, 10000])
    parser.add_argument("--foreach-sizes", type=sizes, default=[100, 1000, 10000])
    parser.add_argument("--f8-executions", type=int, default=1000)
    parser.add_argument("--f8-limit", type=int, default=20)
    parser.add_argument("--log-lines", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (each --concurrency)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves the bench runs")
    parser.add_argument("--foreach-child", type=sizes, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.foreach_child:
        foreach_child(args.foreach_child)
        return
    if args.smoke:
        args.widths, args.foreach_sizes, args.f8_executions, args.f8_limit, args.log_lines = \
            [10, 40], [10, 40], 20, 4, 2000
    parts = {part.strip() for part in args.only.split(",")}
    results = bench_postgres(args, parts) if parts & {"parallel", "f8", "logs"} else {}
    foreach = bench_foreach(args.foreach_sizes) if "foreach" in parts else {}
    parallel: dict[int, dict[str, float]] = results.get("parallel", {})
    ratio = parallel[max(parallel)]["ratio"] if parallel else math.nan
    growth_pg = growth({w: row["engine"] for w, row in parallel.items()})
    foreach_s = foreach[max(foreach)] if foreach else math.nan
    f8 = results.get("f8", {}).get("rate", math.nan)
    logs = results.get("logs", {}).get("rate", math.nan)
    print(f"w2_10000_ratio={ratio:.2f} growth_pg={growth_pg:.2f} growth_standalone={growth(foreach):.2f} "
          f"foreach_10000_standalone_s={foreach_s:.1f} f8_exec_per_s={f8:.1f} log_lines_per_s={logs:.0f}")


if __name__ == "__main__":
    main()
