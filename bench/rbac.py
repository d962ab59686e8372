"""RBAC cost on lists: 10 000 flows in 500 namespaces, `GET /api/v1/flows/search` as a user with
50 role bindings versus as a superuser (who is not filtered at all).

Run from the project root: `.venv/bin/python bench/rbac.py [--requests N]`. With DATABASE_URL
set, it creates its own PostgreSQL database on that server (`weir_bench_rbac_<pid>`, dropped at
the end); without, a temporary SQLite file. It starts `weir server web` on a free loopback port
and calls it over HTTP with bearer tokens, alternating the two users request by request so
that noise on this shared machine falls on both alike.

Last line: `rbac_list_p95_ratio=<r>` (the bound user's p95 over the superuser's; target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET = 1.5


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def namespace_of(i: int) -> str:
    """500 namespaces: 100 roots with 5 children each (`t042.app3`); flows live in the children."""
    return f"t{(i // 5) % 100:03d}.app{i % 5}"


def seed(n_flows: int, n_namespaces: int, bindings: int) -> tuple[str, str, int]:
    """Flows, namespace rows, a superuser and a user bound on `bindings` namespaces; returns the
    two tokens and how many flows the bound user may read."""
    from django.db import connection

    from apps.accounts.models import User
    from apps.accounts.services import create_token
    from apps.flows.models import Flow
    from apps.namespaces.models import Binding, Namespace, Role
    from apps.namespaces.permissions import is_child_namespace

    names = [namespace_of(i) for i in range(n_namespaces)]
    source = "id: f\nnamespace: x\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    Flow.objects.bulk_create([Flow(namespace=names[i % n_namespaces], flow_id=f"flow_{i:05d}", revision=1,
                                   source=source, description="generated", task_count=1)
                              for i in range(n_flows)], batch_size=2000)
    roots = sorted({n.split(".")[0] for n in names})
    Namespace.objects.bulk_create([Namespace(name=n) for n in roots + names], batch_size=2000)
    root = User.objects.create_superuser("bench-root", password="x")
    user = User.objects.create_user("bench-user", password="x")
    # A realistic mix: some whole trees (a root binding), most single leaves, various roles.
    bound = roots[:10] + names[100:100 + bindings - 10]
    Binding.objects.bulk_create([Binding(user=user, namespace=ns, role=[Role.READ, Role.EXECUTE, Role.WRITE][k % 3])
                                 for k, ns in enumerate(bound)])
    readable = sum(1 for i in range(n_flows) if any(is_child_namespace(names[i % n_namespaces], b) for b in bound))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return create_token(root, "bench").raw, create_token(user, "bench").raw, readable


def run(args: argparse.Namespace) -> float:
    import httpx

    admin_url, db_url, sqlite_file = "", "", ""
    base_url = os.environ.get("DATABASE_URL", "")
    if base_url:
        parsed = urlparse(base_url)
        name = f"weir_bench_rbac_{os.getpid()}"
        admin_url = urlunparse(parsed._replace(path="/postgres"))
        db_url = urlunparse(parsed._replace(path=f"/{name}"))
        _psql(admin_url, f"DROP DATABASE IF EXISTS {name}")
        _psql(admin_url, f"CREATE DATABASE {name}")
    else:
        sqlite_file = tempfile.mktemp(prefix="weir-bench-rbac-", suffix=".sqlite3")
        db_url = f"sqlite:///{sqlite_file}"
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "WEIR_LOG_LEVEL": "WARNING", "WEIR_SECRET_KEY": os.environ.get("WEIR_SECRET_KEY") or secrets.token_urlsafe(50)}
    os.environ.update(env)
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        root_token, user_token, readable = seed(args.flows, args.namespaces, args.bindings)
        print(f"seeded {args.flows} flows in {args.namespaces} namespaces ({readable} readable by the bound user, "
              f"{args.bindings} bindings) in {time.perf_counter() - started:.1f} s on "
              f"{'PostgreSQL' if admin_url else 'SQLite'}")
        port = free_port()
        log = open(f"/tmp/weir-bench-rbac-server-{os.getpid()}.log", "w")  # noqa: SIM115
        server = subprocess.Popen([sys.executable, "-m", "apps.cli.main", "server", "web", "--port", str(port)],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        clients = {who: httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     headers={"Authorization": f"Bearer {token}"})
                   for who, token in (("superuser", root_token), ("bound user", user_token))}
        _wait_for(clients["superuser"], log.name)
        samples: dict[str, list[float]] = {who: [] for who in clients}
        totals: dict[str, int] = {}
        for i in range(args.warmup + args.requests):
            params = {"size": 25, "page": 1 + i % 4}
            for who, client in clients.items():
                began = time.perf_counter()
                response = client.get("/api/v1/flows/search", params=params)
                elapsed = time.perf_counter() - began
                if response.status_code != 200:
                    raise SystemExit(f"{who}: {response.status_code} {response.text[:300]} (log: {log.name})")
                totals[who] = response.json()["total"]
                if i >= args.warmup:
                    samples[who].append(elapsed)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        if admin_url:
            _psql(admin_url, f"DROP DATABASE IF EXISTS weir_bench_rbac_{os.getpid()} WITH (FORCE)")
        if sqlite_file and os.path.exists(sqlite_file):
            os.unlink(sqlite_file)
    assert totals["superuser"] == args.flows and totals["bound user"] == readable, totals
    print(f"GET /api/v1/flows/search?size=25 over HTTP, {args.requests} requests each:")
    print(f"  {'':12} {'total':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for who, got in samples.items():
        print(f"  {who:12} {totals[who]:>7} {percentile(got, 50) * 1000:>8.2f} {percentile(got, 95) * 1000:>8.2f}")
    ratio = percentile(samples["bound user"], 95) / percentile(samples["superuser"], 95)
    if ratio > TARGET:
        print(f"TARGET MISSED: ratio {ratio:.2f} > {TARGET}")
    return ratio


def _psql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _wait_for(client: Any, log: str) -> None:
    import httpx

    for _ in range(150):
        try:
            if client.get("/api/v1/plugins/inputs").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server did not start; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=500)
    parser.add_argument("--bindings", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: proves the bench still runs")
    args = parser.parse_args()
    if args.smoke:
        args.flows, args.namespaces, args.bindings, args.requests, args.warmup = 60, 12, 5, 6, 2
    ratio = run(args)
    print(f"rbac_list_p95_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
