"""SSE follow streams and the rest of the API: request latency with N streams open.

A follow stream lasts as long as its execution. This bench serves `config.asgi` with a small
HTTP thread pool (`WEIR_WEB_THREADS`, default here 4), starts a long execution, and measures an
ordinary authenticated request (`GET /api/v1/flows/search`) first with no stream open (the
baseline, same run) and then with `STREAMS` follow streams open (more than the pool has threads;
docs/adr/0025 serves them outside the pool). Served from the pool, the second figure would be
"never" (each stream holds a thread until its execution ends); the bench gives up a request
after 10 s and counts it as timed out.

`__main__` uses a fresh SQLite database in a temporary WEIR_DATA_DIR (or DATABASE_URL if set), the
ASGI server and worker in this process (apps/cli/devserver.py). `--smoke`: fewer streams and
requests, seconds. Last line: `follow_streams=<n> baseline_p50_ms=<n> with_streams_p50_ms=<n>
timeouts=<n>`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THREADS, STREAMS, REQUESTS = 4, 32, 200
SMOKE = {"streams": 6, "requests": 10}
FLOW = """id: sleeper
namespace: bench.follow
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT10M
"""


def _latencies(session: Any, url: str, count: int) -> tuple[list[float], int]:
    import requests

    times, timeouts = [], 0
    for _ in range(count):
        started = time.perf_counter()
        try:
            session.get(url, timeout=10).raise_for_status()
        except requests.Timeout:
            timeouts += 1
            continue
        times.append((time.perf_counter() - started) * 1000)
    return times, timeouts


def measure(base_url: str, token: str, streams: int = STREAMS, requests_count: int = REQUESTS) -> dict[str, Any]:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.post(f"{base_url}/api/v1/flows/bulk", data=FLOW, headers={"Content-Type": "application/x-yaml"},
                 timeout=30).raise_for_status()
    execution = session.post(f"{base_url}/api/v1/executions/bench.follow/sleeper", timeout=30).json()["id"]
    search = f"{base_url}/api/v1/main/flows/search?namespace=bench.follow"
    _latencies(session, search, 10)  # warm-up
    baseline, _ = _latencies(session, search, requests_count)
    opened = []
    for _ in range(streams):
        stream = requests.get(f"{base_url}/api/v1/main/executions/{execution}/follow", stream=True, timeout=10,
                              headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        next(stream.iter_lines())  # the stream is being served
        opened.append(stream)
    loaded, timeouts = _latencies(session, search, requests_count)
    session.delete(f"{base_url}/api/v1/executions/{execution}/kill", timeout=30)
    for stream in opened:
        stream.close()
    return {
        "web_threads": THREADS, "follow_streams": streams,
        "baseline_p50_ms": round(statistics.median(baseline), 1),
        "baseline_p95_ms": round(statistics.quantiles(baseline, n=20)[-1], 1),
        "with_streams_p50_ms": round(statistics.median(loaded), 1) if loaded else None,
        "with_streams_p95_ms": round(statistics.quantiles(loaded, n=20)[-1], 1) if len(loaded) > 1 else None,
        "timeouts": timeouts,
    }


def main() -> int:
    if not os.environ.get("DATABASE_URL"):
        os.environ["WEIR_DATA_DIR"] = tempfile.mkdtemp(prefix="weir-bench-follow-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["WEIR_WEB_THREADS"] = str(THREADS)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.accounts.services import create_token
    from apps.cli.devserver import ServerThread, start_worker, stop_worker

    call_command("migrate", interactive=False, verbosity=0)
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench").first() or user_model.objects.create_superuser(
        username="bench", password="bench-password", email="")
    token = create_token(user, "bench-follow").raw
    start_worker()
    try:
        with ServerThread() as server:
            smoke = "--smoke" in sys.argv
            result = measure(server.url, token, **({"streams": SMOKE["streams"], "requests_count": SMOKE["requests"]}
                                                   if smoke else {}))
    finally:
        stop_worker()
    for key, value in result.items():
        print(f"{key}: {value}")
    print(f"follow_streams={result['follow_streams']} baseline_p50_ms={result['baseline_p50_ms']} "
          f"with_streams_p50_ms={result['with_streams_p50_ms']} timeouts={result['timeouts']}")
    return 0 if result["timeouts"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
