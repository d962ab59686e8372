"""F6 (RELIABILITY.md §2): PostgreSQL restarted, then crashed, under load (docs/adr/0013).

The test starts a PostgreSQL cluster of its own (initdb on a free port, in a temporary
directory), migrates a database there, and runs a real web server (`weir server web`), a real
`weir worker` and a real `weir scheduler` on it, with the Redis database of REDIS_URL (flushed).
Under a load of executions that sleep and pause, it stops PostgreSQL (`pg_ctl stop -m fast`) for
a few seconds and starts it again, then crashes it (SIGKILL of the postmaster and its backends;
the next start recovers from the WAL). Meanwhile a client polls the API.

Pass: the API answers only 2xx or 503 JSON with `Retry-After` (never a 500, never a dropped
connection), a page answers 503 too, the worker and the scheduler are still running, each of
them logged the outage once, and every execution, including some submitted after the crash,
ends SUCCESS. Figures are printed (`pytest -s`) and written to $TMPDIR/weir-faults/F6-*.json.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.faults import faultkit

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per probe request otherwise

NS = "faults.db"
FLOW = f"""\
id: outage
namespace: {NS}
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ execution.id }}}}"
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.5S
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    delay: PT2S
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.first.value }}}} done"
"""
USER, PASSWORD = "outage", "pw-outage-1234"
BOOTSTRAP = f"""
import sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from apps.accounts.models import User
from apps.accounts.services import create_token
from apps.flows.services import save_flow
user = User.objects.create_superuser({USER!r}, "outage@example.com", {PASSWORD!r})
save_flow(user, sys.stdin.read())
print(create_token(user, "faults").raw)
"""
OUTAGE_SECONDS = 6.0
CRASH_SECONDS = 3.0
MESSAGE = "database unavailable, retry later"


@dataclass
class Answer:
    at: float
    status: int | None
    content_type: str
    retry_after: str | None
    body: str


class Probe(threading.Thread):
    """Polls an API endpoint that reads the database (bearer authentication included)."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(name="probe", daemon=True)
        self.base = base
        self.token = token
        self.answers: list[Answer] = []
        self.done = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=15) as client:
            while not self.done.is_set():
                at = time.monotonic()
                try:
                    r = client.get("/api/v1/executions/search", params={"namespace": NS, "size": 1})
                    self.answers.append(Answer(at, r.status_code, r.headers.get("content-type", ""),
                                               r.headers.get("retry-after"), r.text[:300]))
                except httpx.HTTPError as error:
                    self.answers.append(Answer(at, None, "", None, repr(error)))
                self.done.wait(0.05)

    def first(self, after: float, ok: bool) -> float:
        """When the first 2xx (`ok`) or 503 answer to a request sent after `after` came."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for answer in list(self.answers):
                if answer.at >= after and answer.status is not None and (200 <= answer.status < 300) == ok:
                    return answer.at
            time.sleep(0.02)
        raise AssertionError(f"no {'2xx' if ok else 'error'} answer within 60 s: {self.answers[-5:]}")


@pytest.fixture
def postgres() -> Iterator[faultkit.PrivatePostgres]:
    if faultkit.postgres_bin("initdb") is None or faultkit.postgres_bin("pg_ctl") is None:
        pytest.fail("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    server = faultkit.PrivatePostgres().init()
    try:
        server.start()
        server.create_database("weir")
        yield server
    finally:
        server.destroy()


@dataclass
class Stack:
    web: faultkit.Service
    worker: faultkit.Service
    scheduler: faultkit.Service
    base: str
    token: str

    @property
    def services(self) -> list[faultkit.Service]:
        return [self.web, self.worker, self.scheduler]

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log()[-4000:]}" for s in self.services)


@pytest.fixture
def stack(postgres: faultkit.PrivatePostgres, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    import httpx
    from django.conf import settings

    faultkit.flush_broker()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "WEIR_FAILPOINT"))}
    env.update({
        "DATABASE_URL": postgres.url("weir"), "REDIS_URL": os.environ["REDIS_URL"],
        "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_DATA_DIR": str(tmp_path), "WEIR_LOG_LEVEL": "INFO",
        "WEIR_LEASE_SECONDS": "5", "WEIR_SWEEP_SECONDS": "2", "PYTHONUNBUFFERED": "1",
        "WEIR_SECRET_KEY": settings.SECRET_KEY,  # `weir server web` refuses the development key
    })
    done = subprocess.run([sys.executable, "-c", BOOTSTRAP], input=FLOW, capture_output=True, text=True,
                          env=env, cwd=faultkit.ROOT, timeout=120, check=False)
    assert done.returncode == 0, f"bootstrap failed:\n{done.stdout}\n{done.stderr}"
    token = done.stdout.strip().splitlines()[-1]
    port = faultkit.free_port()
    cli = [sys.executable, "-m", "apps.cli.main"]
    web = faultkit.Service("web", [*cli, "server", "web", "--host", "127.0.0.1", "--port", str(port)], env,
                           tmp_path / "web.log").start()
    worker = faultkit.Service("worker", [*cli, "worker", "--concurrency", "4"], env, tmp_path / "worker.log").start()
    scheduler = faultkit.Service("scheduler", [*cli, "scheduler"], env, tmp_path / "scheduler.log").start()
    found = Stack(web, worker, scheduler, f"http://127.0.0.1:{port}", token)
    failed = request.session.testsfailed
    try:
        worker.wait_ready(60)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{found.base}/api/v1/executions/search", headers={"Authorization": f"Bearer {token}"},
                          timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, f"the web server did not start:\n{web.log()[-3000:]}"
                time.sleep(0.1)
        yield found
    finally:
        for service in found.services:
            service.stop()
        if request.session.testsfailed > failed:
            print(f"\nprocess logs ({tmp_path}):\n{found.logs()}\n--- postgres\n{postgres.log()[-3000:]}")


def submit(client: Any, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        r = client.post(f"/api/v1/executions/{NS}/outage")
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


def states(postgres: faultkit.PrivatePostgres, ids: list[str]) -> dict[str, str]:
    import psycopg

    with psycopg.connect(postgres.url("weir")) as conn:
        return dict(conn.execute("SELECT id::text, state FROM weir_execution WHERE id::text = ANY(%s)",
                                 [ids]).fetchall())


def wait_all_ended(postgres: faultkit.PrivatePostgres, ids: list[str], timeout: float) -> dict[str, str]:
    terminal = {"SUCCESS", "FAILED", "KILLED", "WARNING", "CANCELLED", "SKIPPED"}
    deadline = time.monotonic() + timeout
    while True:
        found = states(postgres, ids)
        if (len(found) == len(ids) and all(s in terminal for s in found.values())) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def lost_attempts(postgres: faultkit.PrivatePostgres, ids: list[str]) -> int:
    import psycopg

    with psycopg.connect(postgres.url("weir")) as conn:
        row = conn.execute("SELECT count(*) FROM weir_task_run WHERE execution_id::text = ANY(%s) "
                           "AND attempts @> '[{\"lost\": true}]'", [ids]).fetchone()
    return int(row[0]) if row else 0


def outage_answers(probe: Probe, start: float, end: float) -> list[Answer]:
    return [a for a in probe.answers if start <= a.at <= end and a.status != 200]


def test_f6_postgres_restart_and_crash_under_load(postgres: faultkit.PrivatePostgres, stack: Stack) -> None:
    import httpx

    api = httpx.Client(base_url=stack.base, headers={"Authorization": f"Bearer {stack.token}"}, timeout=15)
    page = httpx.Client(base_url=stack.base, timeout=15, follow_redirects=False)
    page.get("/login/")
    logged_in = page.post("/login/", data={"username": USER, "password": PASSWORD,
                                           "csrfmiddlewaretoken": page.cookies["csrftoken"]})
    assert logged_in.status_code == 302 and page.get("/").status_code == 200, logged_in.text[:500]

    started = time.monotonic()
    ids = submit(api, 30)
    probe = Probe(stack.base, stack.token)
    probe.start()
    time.sleep(1.0)  # some executions sleeping, some paused, some not started yet
    before = states(postgres, ids)
    mid_flight = sum(s not in ("SUCCESS", "CREATED") for s in before.values())

    # Outage 1: a clean restart.
    down_at = time.monotonic()
    postgres.stop("fast")
    probe.first(down_at, ok=False)
    during_post = api.post(f"/api/v1/executions/{NS}/outage")
    during_page = page.get("/")
    time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
    postgres.start()
    up_at = time.monotonic()
    first_ok = probe.first(up_at, ok=True)

    # Outage 2: a crash (kill -9 of the postmaster and its backends), recovery from the WAL; once
    # the scheduler has seen the first outage end (it backs off up to 2 s between tries).
    deadline = time.monotonic() + 30
    while "database reachable again" not in stack.scheduler.log():
        assert time.monotonic() < deadline, f"the scheduler did not reconnect:\n{stack.scheduler.log()[-3000:]}"
        time.sleep(0.1)
    time.sleep(1.0)
    crash_at = time.monotonic()
    postgres.kill9()
    probe.first(crash_at, ok=False)
    time.sleep(max(0.0, crash_at + CRASH_SECONDS - time.monotonic()))
    postgres.start()
    up2_at = time.monotonic()
    first_ok2 = probe.first(up2_at, ok=True)

    ids += submit(api, 5)  # the worker consumes again
    ended = wait_all_ended(postgres, ids, timeout=90)
    finished_at = time.monotonic()
    probe.done.set()
    probe.join(20)

    for service in stack.services:
        assert service.process is not None and service.process.poll() is None, \
            f"{service.name} died:\n{service.log()[-3000:]}"
    failed = {i: s for i, s in ended.items() if s != "SUCCESS"}
    assert len(ended) == len(ids) and not failed, f"{len(failed)} of {len(ids)} executions did not succeed: {failed}"

    for what, answer in (("POST", during_post), ("page", during_page)):
        assert answer.status_code == 503 and answer.headers.get("retry-after"), (what, answer.status_code, answer.text)
    assert during_post.headers["content-type"].startswith("application/json")
    assert during_post.json()["message"] == MESSAGE
    assert during_page.headers["content-type"].startswith("text/html") and "Database unavailable" in during_page.text

    errors = [a for a in probe.answers if a.status != 200]
    assert errors, "the API never noticed the outages: the test proves nothing"
    wrong = [a for a in errors if a.status != 503 or not a.content_type.startswith("application/json")
             or not a.retry_after or json.loads(a.body).get("message") != MESSAGE]
    assert not wrong, f"answers other than 503 JSON with Retry-After: {wrong[:5]}"

    scheduler_log, worker_log, web_log = stack.scheduler.log(), stack.worker.log(), stack.web.log()
    assert scheduler_log.count("database unreachable") == 2, scheduler_log[-3000:]  # once per outage
    assert scheduler_log.count("database reachable again") == 2, scheduler_log[-3000:]
    assert "Traceback" not in scheduler_log, scheduler_log[-3000:]
    assert "database unreachable" in worker_log and "raised unexpected" not in worker_log, worker_log[-3000:]
    assert "Internal Server Error" not in web_log and "Traceback" not in web_log, web_log[-3000:]

    first_outage = outage_answers(probe, down_at, first_ok)
    second_outage = outage_answers(probe, crash_at, first_ok2)
    faultkit.report("F6-postgres-restart", {
        "executions": len(ids), "mid_flight_at_first_outage": mid_flight, "lost": len(failed),
        "restart": {"down_s": round(up_at - down_at, 2), "api_503": len(first_outage),
                    "api_503_span_s": round(first_outage[-1].at - first_outage[0].at, 2) if first_outage else 0,
                    "db_up_to_first_2xx_s": round(first_ok - up_at, 3)},
        "crash": {"down_s": round(up2_at - crash_at, 2), "api_503": len(second_outage),
                  "api_503_span_s": round(second_outage[-1].at - second_outage[0].at, 2) if second_outage else 0,
                  "db_up_to_first_2xx_s": round(first_ok2 - up2_at, 3)},
        "api_5xx_total": len(errors), "api_500": sum(a.status == 500 for a in errors),
        "probe_requests": len(probe.answers),
        "last_db_up_to_all_finished_s": round(finished_at - up2_at, 2),
        "attempts_lost_and_rerun": lost_attempts(postgres, ids),
        "worker_outage_log_lines": worker_log.count("database unreachable"),
        "wall_s": round(finished_at - started, 1), "lease_s": 5, "sweep_s": 2,
    })
