"""Cost per call of the `jq` filter: Weir's own jq subset beside libjq (the `jq` package), docs/adr/0021.

`python bench/jq_filter.py [--smoke]` prints, in microseconds per call, for a few programs of the kind
flows write, on a 100-item document:

* `subset`: `apps.engine.expressions.jq.run` (parsed programs are cached, as in a render);
* `libjq`: `jq.compile(program).input_value(data).all()`, compiled on every call;
* `libjq cached`: the same with the compiled program kept;
* `cached, text in`: kept program fed the document as JSON text (`input_text`), libjq's best case
  when the filter's input is already a JSON string;
* `libjq in a child`: the call sent to a long-lived child process over a pipe, which is the
  cheapest way to give libjq a time limit (the parent kills the child when it overruns);

then how much a second Python thread could run while libjq evaluated one long program (libjq
holds the GIL for the whole evaluation, so the worker's lease and cancel threads stop too).

No database, no Django settings: only the pure engine. Without the `jq` package only the subset
is measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

PROGRAMS = {
    "path": ".orders[42].customer.name",
    "select": "[.orders[] | select(.total > 50) | .id]",
    "map+add": ".orders | map(.total) | add",
    "construct": "[.orders[] | {id, who: .customer.name, big: (.total > 80)}]",
    "group_by": ".orders | group_by(.status) | map({status: .[0].status, n: length})",
}


def document(size: int) -> dict[str, Any]:
    statuses = ("new", "paid", "shipped", "returned")
    return {"orders": [{"id": i, "total": (i * 37) % 100, "status": statuses[i % 4],
                        "customer": {"name": f"customer-{i % 17}", "tags": ["a", "b"]}}
                       for i in range(size)]}


def per_call(function: Callable[[], Any], seconds: float) -> float:
    """Median microseconds per call over 5 rounds of about `seconds` / 5 each."""
    function()
    calls = 1
    while True:  # calibrate
        started = time.perf_counter()
        for _ in range(calls):
            function()
        if time.perf_counter() - started > seconds / 50:
            break
        calls *= 2
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return sorted(rounds)[2]


def _child(conn: Connection) -> None:
    import jq

    compiled: dict[str, Any] = {}
    while True:
        message = conn.recv()
        if message is None:
            return
        program, data = message
        if program not in compiled:
            compiled[program] = jq.compile(program)
        conn.send(compiled[program].input_value(data).all())


def gil_ticks(program: str) -> tuple[float, int, int]:
    """Seconds one libjq evaluation took, and 10 ms ticks a second thread got during it and
    during as long a Python sleep (what it would get if libjq let go of the GIL)."""
    import jq

    def count(stop: threading.Event, ticks: list[int]) -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.01)

    def measure(work: Callable[[], Any]) -> tuple[float, int]:
        stop, ticks = threading.Event(), [0]
        thread = threading.Thread(target=count, args=(stop, ticks))
        thread.start()
        time.sleep(0.02)
        before = ticks[0]
        started = time.perf_counter()
        work()
        took = time.perf_counter() - started
        during = ticks[0] - before
        stop.set()
        thread.join()
        return took, during

    took, during = measure(lambda: jq.compile(program).input_value(None).all())
    _, idle = measure(lambda: time.sleep(took))
    return took, during, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a quick run (figures are noisier)")
    smoke = parser.parse_args().smoke
    seconds = 0.05 if smoke else 1.0

    from apps.engine.expressions import jq as subset

    try:
        import jq as libjq
    except ImportError:
        libjq = None
    data = document(100)
    child = None
    if libjq is not None:
        parent_end, child_end = multiprocessing.Pipe()
        child = multiprocessing.get_context("fork").Process(target=_child, args=(child_end,), daemon=True)
        child.start()

        def via_child(program: str) -> Any:
            parent_end.send((program, data))
            return parent_end.recv()

    text = json.dumps(data)
    print(f"{'program':<10} {'subset':>10} {'libjq':>10} {'cached':>10} {'text in':>10} {'in child':>10}"
          "  (µs per call)")
    ratios = []
    for name, program in PROGRAMS.items():
        expected = subset.run(program, data)
        row = [per_call(lambda p=program: subset.run(p, data), seconds)]  # type: ignore[misc]
        if libjq is not None:
            assert libjq.compile(program).input_value(data).all() == expected, name
            compiled = libjq.compile(program)
            row.append(per_call(lambda p=program: libjq.compile(p).input_value(data).all(), seconds))  # type: ignore[misc]
            row.append(per_call(lambda c=compiled: c.input_value(data).all(), seconds))  # type: ignore[misc]
            row.append(per_call(lambda c=compiled: c.input_text(text).all(), seconds))  # type: ignore[misc]
            row.append(per_call(lambda p=program: via_child(p), seconds))  # type: ignore[misc]
            ratios.append(row[2] / row[0])
        print(f"{name:<10} " + " ".join(f"{value:>10.1f}" for value in row))
    if child is not None:
        parent_end.send(None)
        child.join(5)
    if libjq is None:
        print("libjq: the `jq` package is not installed; only the subset was measured")
        return
    spin = "last(range(300000))" if smoke else "last(range(10000000))"
    took, during, idle = gil_ticks(spin)
    print(f"GIL: while libjq ran `{spin}` for {took:.2f} s, another thread ticked {during} times "
          f"(10 ms ticks; {idle} during a sleep as long)")
    geo = 1.0
    for ratio in ratios:
        geo *= ratio
    geo **= 1 / len(ratios)
    print(f"libjq_cached_over_subset_geomean={geo:.2f} gil_ticks_during_libjq={during} gil_ticks_idle={idle}")


if __name__ == "__main__":
    main()
