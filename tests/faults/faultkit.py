"""Helpers for the fault-injection tests (RELIABILITY.md §2): real worker and scheduler processes
on loopback, killed with real signals, and an oracle that reads the database afterwards.

The processes share the test's PostgreSQL database (the test must use
`django_db(transaction=True)` so that what it writes is committed and visible to them) and the
Redis database of REDIS_URL, which the tests FLUSH: point REDIS_URL at a database of its own.
No psutil here: children are found through /proc (Linux only, like the rest of the harness).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REPORT_DIR = Path(os.environ.get("WEIR_FAULTS_REPORT_DIR", Path(tempfile.gettempdir()) / "weir-faults"))


# ---------------------------------------------------------------------------------------------
# Environment of the processes


def service_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker/scheduler: the test's database, the broker, short timings."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    url = f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "WEIR_FAILPOINT"))}
    env.update({
        "DATABASE_URL": url, "REDIS_URL": os.environ["REDIS_URL"], "DJANGO_SETTINGS_MODULE": "config.settings",
        "WEIR_DATA_DIR": str(workdir), "WEIR_LOG_LEVEL": "INFO", "WEIR_LEASE_SECONDS": "2",
        "WEIR_SECRET_KEY": settings.SECRET_KEY,
        "WEIR_SWEEP_SECONDS": "2", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def queue_length(queue: str = "weir.tasks") -> int:
    import redis

    return int(redis.Redis.from_url(os.environ["REDIS_URL"]).llen(queue))


def unacked_count() -> int:
    """Messages delivered to a consumer that neither acked nor rejected them (kombu's `unacked` hash):
    Redis gives them back after the visibility timeout (1 h by default)."""
    import redis

    return int(redis.Redis.from_url(os.environ["REDIS_URL"]).hlen("unacked"))


# ---------------------------------------------------------------------------------------------
# Processes


def children(pid: int) -> list[int]:
    """Direct children of `pid` (every thread's list, then a /proc scan as a fallback)."""
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                found.update(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    except OSError:
        return []
    if found:
        return sorted(found)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return sorted(found)


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Service:
    """One subprocess (a Celery worker or `weir scheduler`) with its own log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    killed: list[float] = field(default_factory=list)

    def start(self) -> Service:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it until it ends
        log.write(f"\n===== start {datetime.now().isoformat()} =====\n".encode())
        log.flush()
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.started_at = time.monotonic()
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Celery prints `<name> ready.` once it consumes; block until this start printed it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log().rsplit("===== start", 1)[-1]
            if " ready." in text:
                return
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{text[-3000:]}")
            time.sleep(0.05)

    def pool(self) -> list[int]:
        return children(self.pid)

    def kill9(self) -> float:
        """SIGKILL the main process and its pool children at once; returns the wall-clock time."""
        pids = [self.pid, *self.pool()]
        at = time.time()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=10)
        self.killed.append(at)
        return at

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        for pid in children(self.pid):  # a pool child orphaned by a SIGKILL of its parent
            os.kill(pid, signal.SIGKILL)


def worker(name: str, env: dict[str, str], workdir: Path, concurrency: int = 2) -> Service:
    argv = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "-Q", "weir.tasks",
            "-c", str(concurrency), "--without-heartbeat", "--without-mingle", "--without-gossip",
            "-n", f"{name}-{os.getpid()}@%h", "-l", "INFO"]
    return Service(name, argv, env, workdir / f"{name}.log")


def scheduler(env: dict[str, str], workdir: Path) -> Service:
    return Service("scheduler", [sys.executable, "-m", "apps.cli.main", "scheduler"], env,
                   workdir / "scheduler.log")


def kill9(pid: int) -> float:
    """SIGKILL one process and wait until it is dead (a zombie counts); returns the wall-clock time."""
    at = time.time()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} survived SIGKILL"
        time.sleep(0.005)
    return at


# ---------------------------------------------------------------------------------------------
# Flows and executions


def deploy(source: str) -> None:
    from apps.accounts.models import User
    from apps.flows.services import save_flow

    user = User.objects.filter(username="faults").first() or User.objects.create_superuser(
        "faults", "faults@example.com", "pw-faults")
    save_flow(user, source)


def submit(namespace: str, flow_id: str, count: int = 1) -> list[str]:
    """Create and start executions; the first planning step runs here, the workers do the rest."""
    from apps.executions import services

    return [str(services.create_execution(namespace, flow_id, inputs_mode="none").id) for _ in range(count)]


def wait_terminal(ids: list[str], timeout: float) -> dict[str, str]:
    from apps.engine.states import TERMINATED
    from apps.executions.models import Execution

    terminal = {s.value for s in TERMINATED}
    deadline = time.monotonic() + timeout
    while True:
        states = dict(Execution.objects.filter(id__in=ids).values_list("id", "state"))
        if all(states.get(i) in terminal for i in ids) or time.monotonic() > deadline:
            return {i: states.get(i, "MISSING") for i in ids}
        time.sleep(0.1)


def running_on(ids: list[str], task_id: str) -> dict[str, tuple[str, int, int]]:
    """task run id -> (execution id, attempt number, worker pid) of the RUNNING runs of `task_id`."""
    from apps.executions.models import TaskRun

    rows = TaskRun.objects.filter(execution_id__in=ids, task_id=task_id, state="RUNNING").values_list(
        "id", "execution_id", "attempt_no", "worker")
    return {run_id: (ex_id, attempt, int(worker.rsplit(":", 1)[1])) for run_id, ex_id, attempt, worker in rows
            if worker}


def wait_running(ids: list[str], task_id: str, count: int, timeout: float = 15.0) -> dict[str, tuple[str, int, int]]:
    deadline = time.monotonic() + timeout
    while True:
        found = running_on(ids, task_id)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(found)} of {count} '{task_id}' task runs started in {timeout}s")
        time.sleep(0.02)


def stamp(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def recovery(run_id: str, attempt: int, killed_at: float) -> dict[str, float | None]:
    """Seconds from a kill to: the reaper noticing (lost attempt closed), the next attempt starting,
    the task run ending — read from the attempts the engine recorded."""
    from apps.executions.models import TaskRun

    row = TaskRun.objects.get(id=run_id)
    attempts = list(row.attempts)
    lost = attempts[attempt - 1] if len(attempts) >= attempt else {}
    following = attempts[attempt] if len(attempts) > attempt else {}

    def since(value: str | None) -> float | None:
        at = stamp(value)
        return None if at is None else round(at - killed_at, 3)

    return {"detected": since(lost.get("endDate")) if lost.get("lost") else None,
            "rerunning": since(following.get("startDate")), "ended": since(row.end_date)}


# ---------------------------------------------------------------------------------------------
# Figures


def summary(values: Sequence[float | None]) -> dict[str, float | int | None]:
    got = sorted(v for v in values if v is not None)
    if not got:
        return {"n": 0, "missing": len(values)}

    def pct(p: float) -> float:
        return got[min(len(got) - 1, max(0, round(p / 100 * (len(got) - 1))))]

    return {"n": len(got), "missing": len(values) - len(got), "p50": pct(50), "p95": pct(95), "max": got[-1]}


def report(scenario: str, figures: dict[str, Any]) -> Path:
    """Print the figures (visible with `pytest -s`) and keep them as JSON for the run's record."""
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{scenario}.json"
    figures = {"scenario": scenario, "at": datetime.now(UTC).isoformat(), **figures}
    path.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\n{scenario}: {json.dumps(figures, default=str)}\n  -> {path}")
    return path


# ---------------------------------------------------------------------------------------------
# A private PostgreSQL cluster (F6: restarted and crashed by the test, nobody else's database)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server program (`initdb`, `pg_ctl`): Debian keeps them out of PATH."""
    import glob
    import shutil

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


class PrivatePostgres:
    """A throw-away cluster on a free loopback port, in a temporary directory. initdb refuses to
    run as root, so as root the cluster belongs to the `postgres` user and its programs run
    through `runuser`."""

    def __init__(self) -> None:
        import shutil

        self.root = Path(tempfile.mkdtemp(prefix="weir-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *argv: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode:
            raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                                 f"{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def init(self) -> PrivatePostgres:
        self._run(str(postgres_bin("initdb")), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", timeout=120)
        return self

    def start(self) -> None:
        # fsync=off survives a crash of the server's processes (the kernel keeps what was written);
        # asynchronous commit would not: committed transactions would vanish with the crash.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        self._run(str(postgres_bin("pg_ctl")), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(postgres_bin("pg_ctl")), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill9(self) -> None:
        """A crash: SIGKILL the postmaster and its backends at once (the next start recovers from WAL)."""
        pid = self.postmaster_pid()
        assert pid is not None and alive(pid), "the private PostgreSQL is not running"
        for victim in [pid, *children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pid):
            assert time.monotonic() < deadline, "the postmaster survived SIGKILL"
            time.sleep(0.01)
        # Until its zombie is reaped, the next postmaster takes the pid file for a live server.
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        import shutil

        pid = self.postmaster_pid()
        if pid is not None and alive(pid):
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
