"""Micro-benchmark of secret masking and of taint tracking's cost on rendering (docs/adr/0011).

`python bench/masking.py [--smoke]` prints, in microseconds:

* `mask()` on one 120-character log line, with 0, 10, 256 and 1024 (`MAX_REMEMBERED`) remembered
  secrets, for a line without a secret, with one, and split at a line edge;
* `render()` of an expression without secrets (every task property pays this) and of one that
  transforms a secret.

No database, no Django settings needed: only the masking registry and the pure engine. To
compare with a tree without taint tracking, run it with that tree first on PYTHONPATH; the
figures use only `mask`, `remember`, `reset` and `render`, which both have.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections.abc import Callable
from typing import Any


def per_call(function: Callable[[], Any], seconds: float) -> float:
    """Median microseconds per call over 5 rounds of about `seconds` / 5 each."""
    function()
    calls = 1
    while True:  # calibrate
        started = time.perf_counter()
        for _ in range(calls):
            function()
        took = time.perf_counter() - started
        if took > seconds / 50:
            break
        calls *= 2
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return sorted(rounds)[2]


class Services:
    def secret(self, name: str) -> str:
        return "Sup3r-s3cret/value+with~odd#chars"

    def mark_secret(self, value: str) -> None:
        from apps.secrets import masking as secrets_mask

        secrets_mask.remember(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a quick run (figures are noisier)")
    seconds = 0.2 if parser.parse_args().smoke else 1.0

    from apps.engine.expressions import render
    from apps.secrets import masking as secrets_mask

    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "/+-_"
    secrets = ["".join(rng.choice(alphabet) for _ in range(rng.randint(12, 40))) for _ in range(1024)]
    plain = "2026-12-06T21:00:00Z INFO loaded 4242 rows from s3://bucket/orders/2026/12/06 in 0.83 s (ok)"
    plain = (plain + " " * 120)[:120]
    figures: list[tuple[str, float]] = []
    for count in (0, 10, 256, 1024):
        secrets_mask.reset()
        for value in secrets[:count]:
            secrets_mask.remember(value)
        figures.append((f"mask, {count:4d} secrets, clean line", per_call(lambda: secrets_mask.mask(plain), seconds)))
        if count:
            target = secrets[count - 1]
            leaky = f"connecting with password={target} to host"
            split = f"the token is {target[:len(target) // 2]}"
            figures.append((f"mask, {count:4d} secrets, line with a secret",
                            per_call(lambda text=leaky: secrets_mask.mask(text), seconds)))
            figures.append((f"mask, {count:4d} secrets, half a secret at the edge",
                            per_call(lambda text=split: secrets_mask.mask(text), seconds)))
    secrets_mask.reset()
    context = {"inputs": {"name": "orders", "day": "2026-12-06"}, "outputs": {"t": {"value": "x" * 40}}}
    services = Services()
    figures.append(("render, no secret", per_call(
        lambda: render("s3://bucket/{{ inputs.name | upper }}/{{ inputs.day | replace({'-': '/'}) }}",
                       context, services=services), seconds)))
    figures.append(("render, a transformed secret", per_call(
        lambda: render("Bearer {{ secret('TOKEN') | reverse | base64encode }}", context, services=services),
        seconds)))
    for name, micros in figures:
        print(f"{name:45s} {micros:9.1f} us")
    print("masking:", ", ".join(f"{name} {micros:.1f} us" for name, micros in figures
                                if "1024" in name or "render" in name))


if __name__ == "__main__":
    sys.exit(main())
