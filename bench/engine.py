"""Engine benchmark: Weir's executions against the same shapes run as raw Celery, in one run.

Run from the project root: `.venv/bin/python bench/engine.py` (no configuration needed). It
creates its own PostgreSQL database (dropped at the end), takes one of Redis databases 10-13
that no other bench run holds, empties it and uses it as the broker, starts ONE Celery worker subprocess with concurrency 2 that serves both
Weir's queue and the raw baseline's (`bench/raw_celery.py`), then measures, median of 9 runs
after a warm-up, the engine's and the raw runs interleaved:

- W1: one execution of a 10-task chain of Return tasks (wall time, per-transition overhead);
- W2: 100 parallel Return tasks then a join task;
- W3: 50 executions of a 3-task flow submitted at once (executions per second).

Weir's time runs from `create_execution` to the execution's terminal state read from the
database; the raw time from the first `apply_async` to the Redis key set by the last task.
Both include the broker round-trips, so the ratio is what Weir's state keeping costs.

Then W3 again on the standalone default: a fresh SQLite file, no Redis, the in-process worker
and scheduler of `weir standalone` (in a subprocess), reporting time, finished/stuck counts
and whether SQLite ever said "database is locked".

Last line: `ratios vs raw Celery: W1 <r>x W2 <r>x W3 <r>x` (target: each at most 2).
Options: `--runs N`, `--skip-standalone`, `--standalone-only`, `--profile` (cProfile in the
worker's pool processes; time per task by area and Weir's functions printed at the end; it
slows everything down, so ratios from such a run mean nothing). See bench/README.md.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = "redis://127.0.0.1:6379"
REDIS_DBS = (10, 11, 12, 13)  # the bench's own databases; a run takes the first one no other run holds
LOCK_KEY = "weir-bench:lock"
NAMESPACE = "bench.engine"
W1_TASKS, W2_WIDTH, W3_EXECUTIONS, W3_TASKS = 10, 100, 50, 3
TIMEOUT = 120.0
TARGET = 2.0  # each ratio at most this (issue 17)


# ---------------------------------------------------------------------------------------------
# The flows


def flow_w1() -> str:
    lines = ["id: w1", f"namespace: {NAMESPACE}", "tasks:",
             "  - id: t0", "    type: io.kestra.plugin.core.debug.Return", "    format: start"]
    for i in range(1, W1_TASKS):
        lines += [f"  - id: t{i}", "    type: io.kestra.plugin.core.debug.Return",
                  f"    format: \"{{{{ outputs.t{i - 1}.value }}}}\""]
    return "\n".join(lines) + "\n"


def flow_w2() -> str:
    lines = ["id: w2", f"namespace: {NAMESPACE}", "tasks:",
             "  - id: fan", "    type: io.kestra.plugin.core.flow.Parallel", "    tasks:"]
    for i in range(W2_WIDTH):
        lines += [f"      - id: b{i}", "        type: io.kestra.plugin.core.debug.Return", f"        format: b{i}"]
    lines += ["  - id: join", "    type: io.kestra.plugin.core.debug.Return", "    format: joined"]
    return "\n".join(lines) + "\n"


def flow_w3() -> str:
    lines = ["id: w3", f"namespace: {NAMESPACE}", "tasks:"]
    for i in range(W3_TASKS):
        lines += [f"  - id: s{i}", "    type: io.kestra.plugin.core.debug.Return", f"    format: s{i}"]
    return "\n".join(lines) + "\n"


def deploy_flows() -> None:
    from apps.accounts.models import User
    from apps.flows.services import save_flow

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "b@x", "pw")
    for source in (flow_w1(), flow_w2(), flow_w3()):
        save_flow(user, source)


# ---------------------------------------------------------------------------------------------
# Running executions (Weir)


def submit(flow_id: str) -> str:
    from apps.executions import services

    return str(services.create_execution(NAMESPACE, flow_id, inputs_mode="none").id)  # as the API does


def wait_all(ids: list[str], timeout: float = TIMEOUT) -> dict[str, str]:
    """Poll the states until every execution is terminal; returns the states last read."""
    from apps.engine.states import TERMINATED

    terminal = {s.value for s in TERMINATED}
    deadline = time.monotonic() + timeout
    pending = list(ids)
    states: dict[str, str] = {}
    started = time.monotonic()
    while True:
        # A pause of 1 ms, as the raw side's (`wait_key`), growing with the wait to 1 % of it (at most 50 ms):
        # the harness shares the standalone default's process and its database, and polling a
        # long run every 2 ms took a tenth of that process's time; 1 % is what it can add.
        # Each poll reads one row, the last execution still pending (the last submitted: work is
        # taken in order, so it is among the last to end); all of them are read once it has ended.
        # Reading all 50 of W3 at each poll cost the harness a tenth of the CPU W3 had, which the
        # raw side's poll (one Redis GET) does not take from the workers.
        last = pending[-1]
        states.update(_states([last]))
        if states.get(last) in terminal:
            states.update(_states(pending))
            pending = [i for i in pending if states.get(i) not in terminal]
        if not pending or time.monotonic() > deadline:
            if pending:
                states.update(_states(pending))
            return states
        time.sleep(min(max(0.001, (time.monotonic() - started) / 100), 0.05))


def _states(ids: list[str]) -> list[tuple[str, str]]:
    """The executions' states, read the cheapest way: the harness should not spend the CPU (its
    own or PostgreSQL's) that the workers need. On PostgreSQL the query is a prepared statement
    with the ids as one array parameter: Django's cursor sends values inside the query text, so
    PostgreSQL parsed and planned every poll anew (0.1 ms of its CPU each, 15 polls per W1 run)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, state FROM weir_execution WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
            return list(cursor.fetchall())
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("SELECT id, state FROM weir_execution WHERE id = ANY(%s)", [ids], prepare=True)
        return cursor.fetchall()


def engine_run(flow_id: str, count: int) -> float:
    started = time.perf_counter()
    ids = [submit(flow_id) for _ in range(count)]
    states = wait_all(ids)
    elapsed = time.perf_counter() - started
    bad = {i: s for i, s in states.items() if s != "SUCCESS"}
    if bad or len(states) != count:
        from apps.executions.models import TaskRun

        runs = list(TaskRun.objects.filter(execution_id__in=list(bad)[:3]).values_list(
            "execution_id", "task_id", "state", "attempt_no", "worker", "dispatched_at"))
        raise SystemExit(f"{flow_id}: {len(bad)} of {count} executions did not succeed: "
                         f"{list(bad.items())[:5]}; their task runs: {runs} (worker log: {WORKER_LOG})")
    return elapsed


# ---------------------------------------------------------------------------------------------
# Running the same shapes as raw Celery


def wait_key(key: str, value: int, timeout: float = TIMEOUT) -> None:
    from bench import raw_celery

    deadline = time.monotonic() + timeout
    redis_client = raw_celery.client()
    while int(redis_client.get(key) or 0) < value:
        if time.monotonic() > deadline:
            raise SystemExit(f"raw Celery: {key} never reached {value} (worker log: {WORKER_LOG})")
        time.sleep(0.001)


_round = [0]


def raw_run(shape: str) -> float:
    from bench import raw_celery

    _round[0] += 1
    key = f"bench:{shape}:{_round[0]}"
    started = time.perf_counter()
    if shape == "w1":
        raw_celery.send_chain(W1_TASKS, key)
        wait_key(key, 1)
    elif shape == "w2":
        raw_celery.send_fan_out(W2_WIDTH, key + ":n", key)
        wait_key(key, 1)
    else:
        for _ in range(W3_EXECUTIONS):
            raw_celery.send_chain(W3_TASKS, key)
        wait_key(key, W3_EXECUTIONS)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# Set-up: database, broker, worker


WORKER_LOG = Path(tempfile.gettempdir()) / f"weir-bench-worker-{os.getpid()}.log"


def psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def claim_redis() -> str:
    """A broker database of its own: two bench runs on one Redis would take each other's messages.

    BENCH_REDIS_URL, when set, is used as it is. Otherwise the first of REDIS_DBS whose lock key
    this run could set (with a TTL, in case a run dies) is emptied of everything but that key.
    A database some other client is connected to is passed over, lock or not: a worker left
    behind by a killed run would take this run's messages and claim nothing in its database.
    """
    import redis

    if os.environ.get("BENCH_REDIS_URL"):
        redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]).flushdb()
        return os.environ["BENCH_REDIS_URL"]
    for number in REDIS_DBS:
        url = f"{REDIS_SERVER}/{number}"
        client = redis.Redis.from_url(url)
        own = str(client.client_id())
        if any(int(c.get("db", -1)) == number and str(c.get("id")) != own for c in client.client_list()):
            continue
        if client.set(LOCK_KEY, str(os.getpid()), nx=True, ex=1800):
            for key in client.scan_iter(count=1000):
                if key != LOCK_KEY.encode():
                    client.delete(key)
            return url
    raise SystemExit(f"Redis databases {REDIS_DBS} are all held by other bench runs (key {LOCK_KEY})")


def release_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    if client.get(LOCK_KEY) == str(os.getpid()).encode():
        client.delete(LOCK_KEY)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(WORKER_LOG, "wb")  # noqa: SIM115 - the worker writes to it until it stops
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "-Q", "weir.tasks,weir.bench",
         "-c", "2", "--without-heartbeat", "--without-mingle", "--without-gossip", "-I", "bench.raw_celery",
         "-n", f"bench-{os.getpid()}@%h", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_worker(worker: subprocess.Popen[bytes]) -> None:
    """Ready when a raw task sent now has run (both pool processes are then forked)."""
    from bench import raw_celery

    raw_celery.finish.apply_async(args=[None, "bench:ready"], queue=raw_celery.QUEUE)
    deadline = time.monotonic() + 60
    while not raw_celery.client().get("bench:ready"):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {WORKER_LOG}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ---------------------------------------------------------------------------------------------
# Measurements


def paired(runs: int, engine_fn: Callable[[], float], raw_fn: Callable[[], float]) -> dict[str, Any]:
    """Both sides `runs` times after a warm-up of each, interleaved (engine then raw, then raw then
    engine...): this machine's speed drifts by half over minutes (other guests on the host), and
    a block of engine runs followed by a block of raw runs put a drift into the ratio."""
    engine_fn()  # warm-up: caches, connections, forked pool processes
    raw_fn()
    engine_samples: list[float] = []
    raw_samples: list[float] = []
    for index in range(runs):
        if index % 2 == 0:
            engine_samples.append(engine_fn())
            raw_samples.append(raw_fn())
        else:
            raw_samples.append(raw_fn())
            engine_samples.append(engine_fn())
    engine, raw = statistics.median(engine_samples), statistics.median(raw_samples)
    return {"engine": engine, "raw": raw, "ratio": engine / raw, "engine_samples": engine_samples,
            "raw_samples": raw_samples}


def measure(runs: int) -> dict[str, dict[str, Any]]:
    shapes: dict[str, tuple[Callable[[], float], Callable[[], float]]] = {
        "W1": (lambda: engine_run("w1", 1), lambda: raw_run("w1")),
        "W2": (lambda: engine_run("w2", 1), lambda: raw_run("w2")),
        "W3": (lambda: engine_run("w3", W3_EXECUTIONS), lambda: raw_run("w3")),
    }
    results: dict[str, dict[str, Any]] = {}
    for name, (engine_fn, raw_fn) in shapes.items():
        results[name] = paired(runs, engine_fn, raw_fn)
        print_row(name, results[name])
    return results


def print_row(name: str, row: dict[str, Any]) -> None:
    text = f"{name} engine {row['engine']:.3f}s raw {row['raw']:.3f}s ratio {row['ratio']:.1f}x"
    if name == "W1":
        overhead = (row["engine"] - row["raw"]) / W1_TASKS * 1000
        text += f" per-transition overhead {overhead:.1f}ms ({row['engine'] / W1_TASKS * 1000:.1f}ms per task)"
    if name == "W3":
        text += (f" engine {W3_EXECUTIONS / row['engine']:.1f} executions/s"
                 f" raw {W3_EXECUTIONS / row['raw']:.1f} chains/s")
    engine = " ".join(f"{s:.3f}" for s in row["engine_samples"])
    raw = " ".join(f"{s:.3f}" for s in row["raw_samples"])
    print(f"{text}  [engine runs: {engine}; raw runs: {raw}]", flush=True)


def bench_postgres(runs: int, profile: bool) -> dict[str, dict[str, Any]]:
    db = f"weir_bench_{os.getpid()}"
    broker = claim_redis()
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "REDIS_URL": broker,
           "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING"}
    if profile:
        env["WEIR_BENCH_PROFILE"] = str(Path(tempfile.gettempdir()) / f"weir-bench-profile-{os.getpid()}")
    os.environ.update(env)
    worker = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        worker = start_worker(env)
        import django

        django.setup()
        deploy_flows()
        wait_worker(worker)
        print(f"PostgreSQL + Redis, one worker (prefork, concurrency 2), median of {runs} runs after a warm-up:",
              flush=True)
        return measure(runs)
    finally:
        if worker is not None:
            stop(worker)
            if sys.exc_info()[0] is None:  # keep the worker's log only when something went wrong
                WORKER_LOG.unlink(missing_ok=True)
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        release_redis(broker)
        if profile:
            print_profile(env["WEIR_BENCH_PROFILE"])


AREAS = (("psycopg", "psycopg (waiting for PostgreSQL)"), ("django/db", "Django ORM"), ("django", "Django other"),
         ("celery", "Celery"), ("kombu", "kombu (broker)"), ("billiard", "billiard (pool)"), ("jinja2", "Jinja"),
         ("pydantic", "pydantic"), ("apps/engine/expressions", "apps.engine.expressions"),
         ("apps/engine", "apps.engine"), ("apps/executions", "apps.executions"), ("plugins/", "plugins"),
         ("json", "json"))


def print_profile(prefix: str) -> None:
    """Where the pool processes spent their time: by area (own time), then Weir's functions (cumulative)."""
    import glob
    import pstats

    files = glob.glob(prefix + "*.prof")
    if not files:
        print("no profile written")
        return
    stats = pstats.Stats(files[0])
    for extra in files[1:]:
        stats.add(extra)
    for name in files:
        os.unlink(name)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    tasks = sum(v[1] for k, v in raw.items() if k[2] == "run_task" and k[0].endswith("executions/runtime/tasks.py"))
    idle = sum(v[2] for k, v in raw.items() if k[2] in ("read", "poll") or "posix.read" in k[2])
    areas: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in raw.items():
        label = next((name for key, name in AREAS if key in filename), "other")
        if function in ("<built-in method posix.read>", "<method 'poll' of 'select.epoll' objects>"):
            label = "idle (waiting for a task)"
        areas[label] = areas.get(label, 0.0) + own
    print(f"profile of the pool processes: {tasks} weir.run_task calls; own time per task by area "
          f"(cProfile inflates Python time; idle {idle:.1f}s excluded):")
    for label, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        if label != "idle (waiting for a task)" and seconds / max(tasks, 1) >= 0.00005:
            print(f"  {seconds / max(tasks, 1) * 1000:7.2f} ms  {label}")
    print("Weir functions by cumulative time per task:")
    ours = [(v[3], v[1], k) for k, v in raw.items() if "/apps/" in k[0] or "/plugins/" in k[0]]
    for cumulative, calls, (filename, line, function) in sorted(ours, reverse=True)[:30]:
        where = filename.split("/work/main/")[-1].split(str(ROOT) + "/")[-1]
        print(f"  {cumulative / max(tasks, 1) * 1000:7.2f} ms  {calls / max(tasks, 1):6.2f} calls  "
              f"{where}:{line} {function}")


# ---------------------------------------------------------------------------------------------
# Standalone (SQLite, in-process worker)


def bench_standalone() -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="weir-bench-standalone-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{workdir / 'weir.sqlite3'}", "WEIR_DATA_DIR": str(workdir),
                "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING"})
    try:
        done = subprocess.run([sys.executable, __file__, "--standalone-child"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        output = done.stdout + done.stderr
        result_lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        result: dict[str, Any] = json.loads(result_lines[-1][7:]) if result_lines else {
            "seconds": None, "finished": 0, "stuck": W3_EXECUTIONS, "states": {}}
        result["locked"] = "database is locked" in output
        if done.returncode != 0 or not result_lines:
            print(output[-3000:])
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def standalone_child() -> None:
    """Runs in the subprocess: migrate a fresh SQLite file, start the services, submit W3."""
    import django

    django.setup()
    from django.core.management import call_command

    from apps.cli.standalone import start_background_services
    from apps.engine.states import TERMINATED
    from apps.executions import services

    call_command("migrate", verbosity=0)
    deploy_flows()
    start_background_services()
    started = time.perf_counter()
    ids = [str(services.create_execution(NAMESPACE, "w3", inputs_mode="none").id) for _ in range(W3_EXECUTIONS)]
    states = wait_all(ids, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    terminal = {s.value for s in TERMINATED}
    finished = sum(1 for i in ids if states.get(i) in terminal)
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    print("RESULT " + json.dumps({"seconds": elapsed, "finished": finished, "stuck": len(ids) - finished,
                                  "states": counts, "failed": sum(1 for s in states.values() if s != "SUCCESS")}),
          flush=True)
    os._exit(0)  # the worker and scheduler threads are daemons; skip their shutdown


# ---------------------------------------------------------------------------------------------


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP end the bench the way Ctrl-C does, through its `finally` blocks: the
    default action killed the process at once and left its Celery worker running (a session of
    its own, so the signal did not reach it) and its database behind."""
    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, leave)


def main() -> None:
    exit_on_signals()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-standalone", action="store_true", help="only the PostgreSQL + Redis part")
    parser.add_argument("--standalone-only", action="store_true", help="only the SQLite standalone part")
    parser.add_argument("--standalone-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="one run, no warm-up repeats: proves the bench runs")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.standalone_child:
        standalone_child()
        return
    results = {} if args.standalone_only else bench_postgres(args.runs, args.profile)
    if not args.skip_standalone:
        sa = bench_standalone()
        seconds = f"{sa['seconds']:.2f}s ({W3_EXECUTIONS / sa['seconds']:.1f} executions/s)" \
            if sa.get("seconds") else "no time (did not finish)"
        print(f"standalone W3 (SQLite, in-process worker): {seconds}, finished {sa['finished']}/{W3_EXECUTIONS}, "
              f"stuck {sa['stuck']}, not SUCCESS {sa.get('failed', '?')}, "
              f"'database is locked' {'SEEN' if sa['locked'] else 'never'}; states {sa.get('states')}", flush=True)
    if not results:
        return
    missed = [name for name, row in results.items() if row["ratio"] > TARGET]
    if missed:
        for name in missed:
            row = results[name]
            print(f"TARGET MISSED {name}: engine {row['engine']:.3f}s vs raw {row['raw']:.3f}s "
                  f"= {row['ratio']:.2f}x > {TARGET:g}x", flush=True)
    print("ratios vs raw Celery: " + " ".join(f"{name} {row['ratio']:.2f}x" for name, row in results.items()))


if __name__ == "__main__":
    main()
