"""ETL throughput: a CSV served over HTTP, downloaded and loaded into PostgreSQL by a flow, beside
`psql \\copy` of the same file; and CsvToIon → IonToCsv of the same file (bench/README.md).

In one run, all set up by the script: a Weir database `weir_benchetl_<pid>` (migrated, dropped at
the end), a warehouse database `weir_benchwh_<pid>`, a Redis database of its own (see
`claim_broker`), a local HTTP server for the file, and **one** Celery worker subprocess
(prefork, concurrency 1) whose storage is a temporary directory.

- Load: flow `Download → CopyIn (CSV, header)`; its time runs from `create_execution` to the
  terminal state. The baseline is `psql -c "\\copy … FROM 'file' WITH (FORMAT csv, HEADER)"` of the
  same file into an identical table. Median of `--runs` runs of each (tables truncated between).
- Serdes: flow `Download → CsvToIon → IonToCsv`; each conversion's rows per second comes from its
  task run's start and end dates. The figure is the slower of the two.
- Memory: the peak resident set (VmHWM) of the worker's pool process, read after a run on a file
  a tenth of the size and after the full runs: flat means both figures are close.

Last line (read by shared/checks/bench-etl; targets ratio ≤ 2, serdes ≥ 200 000 rows/s):
`etl_vs_psql_ratio=<r> serdes_rows_per_s=<n> worker_rss_mb=<n>`.
`--smoke`: 50 000 rows, one run, same line.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.engine import LOCK_KEY, REDIS_SERVER, psql, release_redis, stop  # noqa: E402

NAMESPACE = "bench.etl"
TIMEOUT = 120.0
COLUMNS = "order_id bigint, ordered_at timestamptz, customer text, sku text, quantity int, unit_price numeric(10,2)"


BROKER_DBS = (14, 15, 13, 12, 11, 10)


def claim_broker() -> str:
    """A Redis database no live worker consumes from (BENCH_REDIS_URL, when set, is used as is).

    Like bench/engine.py's claim (a lock key with a TTL), and also skipping any database where a
    worker of another run is registered in the census: it would take this run's messages."""
    import redis

    from apps.executions.census import KEY, STALE_SECONDS

    if os.environ.get("BENCH_REDIS_URL"):
        redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]).flushdb()
        return os.environ["BENCH_REDIS_URL"]
    for number in BROKER_DBS:
        url = f"{REDIS_SERVER}/{number}"
        client = redis.Redis.from_url(url)
        if not client.set(LOCK_KEY, str(os.getpid()), nx=True, ex=1800):
            continue
        now = time.time()
        live = [v for v in client.hvals(KEY) if now - float(json.loads(v).get("seen", 0)) < STALE_SECONDS]
        if live:
            client.delete(LOCK_KEY)
            continue
        for key in client.scan_iter(count=1000):
            if key != LOCK_KEY.encode():
                client.delete(key)
        return url
    raise SystemExit(f"Redis databases {BROKER_DBS} are all held by other runs or have live workers")


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", buffering=1 << 20) as out:
        out.write("order_id,ordered_at,customer,sku,quantity,unit_price\n")
        for i in range(rows):
            out.write(f"{i},2026-12-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:00Z,customer {i % 977},"
                      f"SKU-{i % 101},{i % 7 + 1},{(i % 5000) / 10:.2f}\n")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def flows(warehouse: str) -> list[str]:
    url = f"jdbc:postgresql://127.0.0.1:5432/{warehouse}"
    load = f"""\
id: load
namespace: {NAMESPACE}
inputs:
  - id: file
    type: STRING
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: "{{{{ inputs.file }}}}"
  - id: copy_in
    type: io.kestra.plugin.jdbc.postgresql.CopyIn
    url: {url}
    username: postgres
    table: orders_flow
    from: "{{{{ outputs.download.uri }}}}"
    format: CSV
    header: true
"""
    serdes = f"""\
id: serdes
namespace: {NAMESPACE}
inputs:
  - id: file
    type: STRING
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: "{{{{ inputs.file }}}}"
  - id: to_ion
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.download.uri }}}}"
  - id: to_csv
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{{{ outputs.to_ion.uri }}}}"
"""
    return [load, serdes]


def deploy(sources: list[str]) -> None:
    from apps.accounts.models import User
    from apps.flows.services import save_flow

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "b@x", "pw")
    for source in sources:
        save_flow(user, source)


def execute(flow_id: str, file_url: str) -> tuple[str, float]:
    from apps.engine.states import TERMINATED
    from apps.executions import services
    from apps.executions.models import Execution

    terminal = {s.value for s in TERMINATED}
    started = time.perf_counter()
    row = services.create_execution(NAMESPACE, flow_id, inputs={"file": file_url}, inputs_mode="raw")
    deadline = time.monotonic() + TIMEOUT
    while True:
        state = Execution.objects.filter(id=row.id).values_list("state", flat=True).first()
        if state in terminal:
            elapsed = time.perf_counter() - started
            if state != "SUCCESS":
                raise SystemExit(f"{flow_id} ended {state}: {task_logs(str(row.id))}")
            return str(row.id), elapsed
        if time.monotonic() > deadline:
            from apps.executions.models import TaskRun

            runs = list(TaskRun.objects.filter(execution_id=row.id).values_list(
                "task_id", "state", "attempt_no", "dispatched_at", "lease_until", "worker"))
            raise SystemExit(f"{flow_id} did not finish in {TIMEOUT:.0f}s: execution {state}, task runs {runs}, "
                             f"logs {task_logs(str(row.id))}")
        time.sleep(0.01)


def task_logs(execution_id: str) -> list[str]:
    from apps.executions.models import LogLine

    return list(LogLine.objects.filter(execution_id=execution_id).values_list("message", flat=True))


def task_seconds(execution_id: str, task_id: str) -> float:
    from apps.executions.models import TaskRun

    start, end = TaskRun.objects.filter(execution_id=execution_id, task_id=task_id).values_list(
        "start_date", "end_date").get()
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def warehouse_count(warehouse: str, table: str) -> int:
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{warehouse}", autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


def truncate(warehouse: str) -> None:
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{warehouse}", autocommit=True) as conn:
        conn.execute("TRUNCATE orders_flow, orders_psql")


def psql_copy(warehouse: str, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", warehouse, "-q", "-v", "ON_ERROR_STOP=1",
                    "-c", f"\\copy orders_psql FROM '{path}' WITH (FORMAT csv, HEADER)"], check=True)
    return time.perf_counter() - started


def pool_peak_mb(worker: subprocess.Popen[bytes]) -> float:
    """VmHWM of the worker's pool process(es), the largest, in MB."""
    from tests.faults.faultkit import children

    peaks = []
    for pid in children(worker.pid) or [worker.pid]:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks) if peaks else 0.0


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - the worker writes to it until it stops
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "-Q", "weir.tasks", "-c", "1",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"benchetl-{os.getpid()}@%h",
         "-l", "WARNING"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a `timeout` still cleans up (finally)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="50 000 rows, one run")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (50_000 if args.smoke else 1_000_000)
    runs = args.runs or (1 if args.smoke else 3)

    work = Path(tempfile.mkdtemp(prefix="weir-bench-etl-"))
    db, warehouse = f"weir_benchetl_{os.getpid()}", f"weir_benchwh_{os.getpid()}"
    broker = claim_broker()
    for name in (db, warehouse):
        psql(f"DROP DATABASE IF EXISTS {name}")
        psql(f"CREATE DATABASE {name}")
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{warehouse}", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE orders_flow ({COLUMNS}); CREATE TABLE orders_psql ({COLUMNS})")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "REDIS_URL": broker,
           "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING",
           "WEIR_DATA_DIR": str(work / "data"), "WEIR_EGRESS_ALLOW": "127.0.0.1"}
    os.environ.update(env)
    worker = None
    server = None
    log = work / "worker.log"
    try:
        files = work / "files"
        files.mkdir()
        small, full = files / "orders_small.csv", files / "orders.csv"
        write_csv(small, max(rows // 10, 1))
        write_csv(full, rows)
        print(f"{rows} rows, {full.stat().st_size / 1e6:.1f} MB of CSV; {runs} run(s) of each", flush=True)
        server, base = serve(files)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        worker = start_worker(env, log)
        import django

        django.setup()
        deploy(flows(warehouse))

        execute("serdes", f"{base}/{small.name}")  # warm-up: pool process forked, imports done
        execute("load", f"{base}/{small.name}")
        small_peak = pool_peak_mb(worker)
        truncate(warehouse)

        flow_times, psql_times, serdes_rates = [], [], []
        for _ in range(runs):
            execution_id, seconds = execute("load", f"{base}/{full.name}")
            flow_times.append(seconds)
            psql_times.append(psql_copy(warehouse, full))
            loaded, copied = warehouse_count(warehouse, "orders_flow"), warehouse_count(warehouse, "orders_psql")
            if loaded != rows or copied != rows:
                raise SystemExit(f"row counts differ: flow {loaded}, psql {copied}, expected {rows}")
            truncate(warehouse)
            execution_id, _ = execute("serdes", f"{base}/{full.name}")
            to_ion, to_csv = task_seconds(execution_id, "to_ion"), task_seconds(execution_id, "to_csv")
            serdes_rates.append(min(rows / to_ion, rows / to_csv))
            print(f"  load flow {seconds:.2f}s, psql \\copy {psql_times[-1]:.2f}s; "
                  f"CsvToIon {rows / to_ion:,.0f} rows/s, IonToCsv {rows / to_csv:,.0f} rows/s", flush=True)
        full_peak = pool_peak_mb(worker)
        flow, baseline = statistics.median(flow_times), statistics.median(psql_times)
        ratio = flow / baseline
        serdes = statistics.median(serdes_rates)
        print(f"load: flow {flow:.2f}s vs psql \\copy {baseline:.2f}s (ratio {ratio:.2f}, target ≤ 2)"
              f"{'' if ratio <= 2 else '  TARGET MISSED'}")
        print(f"serdes: {serdes:,.0f} rows/s for the slower conversion (target ≥ 200 000)"
              f"{'' if serdes >= 200_000 else '  TARGET MISSED'}")
        print(f"worker pool peak RSS: {small_peak:.0f} MB after {max(rows // 10, 1)} rows, "
              f"{full_peak:.0f} MB after {rows} rows")
        print(f"etl_vs_psql_ratio={ratio:.2f} serdes_rows_per_s={serdes:.0f} worker_rss_mb={full_peak:.0f}",
              flush=True)
    finally:
        if server is not None:
            server.shutdown()
        if worker is not None:
            stop(worker)
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        for name in (db, warehouse):
            psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        release_redis(broker)
        if sys.exc_info()[0] is None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"worker log kept: {log}", file=sys.stderr)


if __name__ == "__main__":
    main()
