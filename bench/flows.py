"""Flow benchmarks: validation time by flow size, and API latency on PostgreSQL with 10 000 flows.

Run from the project root: `.venv/bin/python bench/flows.py`. It creates its own PostgreSQL
database (dropped at the end), starts `weir server web` on a free loopback port, and talks to it
over HTTP with a bearer token, so figures include the whole stack (uvicorn, Django, DRF, auth).
Baselines measured in the same run: `yaml.safe_load` of the same text (validation) and an
authenticated endpoint that touches no flow (`/api/v1/plugins/inputs`: the framework floor).

`--smoke` runs the same steps at tiny sizes in seconds (CI runs it so the bench cannot rot).

Last line: `validate_1000_ms=<n> get_p95_ms=<n> search_p95_ms=<n>`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def make_flow(n_tasks: int, namespace: str = "bench.ns", flow_id: str = "flow") -> str:
    """A realistic flow: inputs, expressions, retries, a Parallel block every 10 tasks."""
    lines = [f"id: {flow_id}", f"namespace: {namespace}", "description: generated for the benchmark",
             "labels:", "  team: bench", "inputs:", "  - id: name", "    type: STRING", "    defaults: world",
             "tasks:"]
    i = 0
    while i < n_tasks:
        if i % 10 == 9 and i + 3 <= n_tasks:
            lines += [f"  - id: par_{i}", "    type: io.kestra.plugin.core.flow.Parallel", "    tasks:"]
            for j in range(2):
                lines += [f"      - id: t_{i}_{j}", "        type: io.kestra.plugin.core.debug.Return",
                          f"        format: \"{{{{ inputs.name }}}}-{j}\""]
            i += 3
            continue
        lines += [f"  - id: t_{i}", "    type: io.kestra.plugin.core.log.Log",
                  f"    message: \"step {i} for {{{{ inputs.name }}}} at {{{{ execution.startDate }}}}\"",
                  "    retry:", "      type: constant", "      interval: PT1S", "      maxAttempt: 3"]
        i += 1
    return "\n".join(lines) + "\n"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def bench_validation(smoke: bool = False) -> dict[int, float]:
    import yaml

    from apps.flows.validation import validate_source

    out: dict[int, float] = {}
    print("validation (parse + all rules + expression syntax), median of runs:")
    print(f"  {'tasks':>6} {'weir ms':>9} {'yaml.safe_load ms (baseline)':>30}")
    for n in (10, 100, 1000):
        text = make_flow(n)
        result = validate_source(text)
        assert result.ok, result.problems[:3]
        runs = 2 if smoke else 30 if n < 1000 else 10
        times, base = [], []
        for _ in range(runs):
            started = time.perf_counter()
            validate_source(text)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            yaml.safe_load(text)
            base.append(time.perf_counter() - started)
        out[n] = ms(statistics.median(times))
        print(f"  {n:>6} {out[n]:>9} {ms(statistics.median(base)):>30}")
    return out


def psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(n_flows: int, n_namespaces: int) -> None:
    from django.db import connection

    from apps.flows.models import Flow, FlowRevision, source_digest
    from apps.namespaces.models import Namespace

    started = time.perf_counter()
    text_by_ns: list[tuple[str, str, str]] = []
    for i in range(n_flows):
        ns = f"bench.team{i % n_namespaces}.sub{i % 3}"
        fid = f"flow_{i:05d}"
        text_by_ns.append((ns, fid, make_flow(8, ns, fid)))
    flows = [Flow(namespace=ns, flow_id=fid, revision=1, source=text, description="generated",
                  labels={"team": f"t{i % 7}"}, task_count=8) for i, (ns, fid, text) in enumerate(text_by_ns)]
    # Every namespace of a flow has a row, as flows.services makes them (permissions.visible relies on it).
    names = {ns for ns, _, _ in text_by_ns}
    names |= {".".join(ns.split(".")[:k]) for ns in names for k in (2,)}
    Namespace.objects.bulk_create([Namespace(name=n) for n in sorted(names)], batch_size=1000,
                                  ignore_conflicts=True)
    Flow.objects.bulk_create(flows, batch_size=1000)
    by_key = {(f.namespace, f.flow_id): f.pk for f in Flow.objects.only("pk", "namespace", "flow_id")}
    FlowRevision.objects.bulk_create(
        [FlowRevision(flow_id=by_key[(ns, fid)], revision=1, source=text, digest=source_digest(text))
         for ns, fid, text in text_by_ns], batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {n_flows} flows in {n_namespaces * 3} namespaces in {time.perf_counter() - started:.1f} s")


def timed(client: Any, method: str, url: str, n: int, **kw: Any) -> list[float]:
    samples = []
    for i in range(n):
        target = url.format(i=i) if "{i" in url else url
        started = time.perf_counter()
        response = client.request(method, target, **kw(i) if callable(kw.get("make")) else kw)
        samples.append(time.perf_counter() - started)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {target} -> {response.status_code}: {response.text[:300]} "
                             "(server log: /tmp/weir-bench-server-*.log)")
    return samples


def bench_api(n_flows: int, n_namespaces: int, requests: int) -> dict[str, float]:
    import httpx

    db = f"weir_bench_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
           "DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_LOG_LEVEL": "WARNING",
           "WEIR_SECRET_KEY": os.environ.get("WEIR_SECRET_KEY") or secrets.token_urlsafe(50)}
    os.environ.update(env)
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from apps.accounts.models import User
        from apps.accounts.services import create_token
        from apps.namespaces.models import Binding, Namespace, Role

        user = User.objects.create_user("bench", password="bench-password")
        # A plain user with WRITE on the benchmark's tree (not a superuser): the figures include
        # the permission filter every real caller pays.
        Namespace.objects.create(name="bench")
        Binding.objects.create(user=user, namespace="bench", role=Role.WRITE)
        token = create_token(user, "bench").raw
        seed(n_flows, n_namespaces)
        port = free_port()
        log = open(f"/tmp/weir-bench-server-{os.getpid()}.log", "w")  # noqa: SIM115
        server = subprocess.Popen([sys.executable, "-m", "apps.cli.main", "server", "web", "--port", str(port)],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        for _ in range(100):
            try:
                if client.get("/api/v1/plugins/inputs").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"server did not start; see {log.name}")
        for _ in range(20):  # warm up connections, caches and the plan cache
            client.get("/api/v1/flows/bench.team1.sub1/flow_00001")
            client.get("/api/v1/flows/search", params={"namespace": "bench.team1", "size": 25})
        floor = timed(client, "GET", "/api/v1/plugins/inputs", requests)
        yaml_headers = {"Content-Type": "application/x-yaml"}
        create = []
        for i in range(requests):
            body = make_flow(20, "bench.created", f"created_{i}")
            started = time.perf_counter()
            response = client.post("/api/v1/flows", content=body, headers=yaml_headers)
            create.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
        get = []
        for i in range(requests):
            k = (i * 37) % n_flows
            url = f"/api/v1/flows/bench.team{k % n_namespaces}.sub{k % 3}/flow_{k:05d}"
            started = time.perf_counter()
            response = client.get(url)
            get.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
        search = []
        for i in range(requests):
            params: dict[str, Any] = [
                {"namespace": f"bench.team{i % n_namespaces}", "size": 25, "sort": "id:asc"},
                {"q": f"flow_{(i * 37) % n_flows:05d}"[:7], "size": 25, "page": 2},
                {"size": 25, "page": 1 + i % 40, "sort": "updated:desc"},
                {"labels": f"team:t{i % 7}", "size": 25},
            ][i % 4]
            started = time.perf_counter()
            response = client.get("/api/v1/flows/search", params=params)
            search.append(time.perf_counter() - started)
            assert response.status_code == 200 and response.json()["total"] > 0, params
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    rows = {"floor (GET /plugins/inputs)": floor, "create (POST /flows, 20 tasks)": create,
            "get (GET /flows/{ns}/{id})": get, f"search page (25 of {n_flows})": search}
    print(f"API over HTTP, {requests} requests each, {n_flows} flows stored in PostgreSQL:")
    print(f"  {'':34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, samples in rows.items():
        print(f"  {label:34} {ms(percentile(samples, 50)):>8} {ms(percentile(samples, 95)):>8}")
    return {"get_p95_ms": ms(percentile(get, 95)), "search_p95_ms": ms(percentile(search, 95)),
            "create_p95_ms": ms(percentile(create, 95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: proves the bench still runs")
    args = parser.parse_args()
    if args.smoke:
        args.flows, args.namespaces, args.requests = 60, 6, 8
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    validation = bench_validation(smoke=args.smoke)
    api = bench_api(args.flows, max(1, args.namespaces // 3), args.requests)
    print(f"validate_1000_ms={validation[1000]} get_p95_ms={api['get_p95_ms']} "
          f"search_p95_ms={api['search_p95_ms']}")


if __name__ == "__main__":
    main()
