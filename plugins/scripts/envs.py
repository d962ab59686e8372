"""Python environments for script tasks, built with uv and cached per host by content.

The key is a SHA-256 over the interpreter version and the sorted, normalized dependency specs,
so two tasks (on any worker of the host) that ask for the same list share one environment and
the second run installs nothing. Builds take a per-key file lock (two workers never build the
same key at once) and publish the environment with an atomic rename; each use touches a
marker, and the least recently used environments are removed past `WEIR_SCRIPT_ENVS_MAX`.

Every environment holds the PyPI `kestra` package, so `from kestra import Kestra` works in
scripts as it does on Kestra. Where no environment can be built (no package index reachable)
and the task declared no dependencies, the script runs on the system interpreter instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

BASE_PACKAGES = ("kestra",)
INDEX_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
"""Passed to uv: where the package index is and how to trust it."""
SYSTEM_PYTHON = "/usr/bin/python3"


class BuildFailed(Exception):
    """uv could not make the environment; the message is uv's own, shortened."""


@dataclass(frozen=True)
class Env:
    root: str
    """The environment's directory (made visible read-only to the sandboxed script)."""
    python: str
    built: bool
    """True when this call installed it (False: it was in the cache)."""


def root_dir() -> str:
    # Not under WEIR_DATA_DIR: the sandboxed script's uid must traverse every folder above it.
    base = os.environ.get("WEIR_SCRIPT_ENVS") or os.path.join(tempfile.gettempdir(), "weir-script-envs")
    os.makedirs(base, mode=0o755, exist_ok=True)
    return base


def normalize(spec: str) -> str:
    return " ".join(spec.strip().split()).lower()


def key(python_version: str, specs: list[str]) -> str:
    text = "\n".join([f"python {python_version}", *sorted({normalize(s) for s in specs if s.strip()})])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.cache
def python_version() -> str:
    out = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or "3"


def uv_binary() -> str:
    from uv import find_uv_bin  # the `uv` package ships the binary

    return str(find_uv_bin())


def ensure(specs: list[str], *, cache: bool = True) -> Env:
    """The environment for `specs` (plus `kestra`), built if the cache does not have it."""
    wanted = [*BASE_PACKAGES, *specs]
    base = root_dir()
    name = key(python_version(), wanted)
    path = os.path.join(base, name)
    if cache and os.path.isfile(os.path.join(path, ".ready")):
        _touch(path)
        return Env(path, os.path.join(path, "bin", "python"), built=False)
    with open(os.path.join(base, f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache and os.path.isfile(os.path.join(path, ".ready")):
            _touch(path)
            return Env(path, os.path.join(path, "bin", "python"), built=False)
        target = path if cache else tempfile.mkdtemp(prefix="uncached-", dir=base)
        _build(target, wanted, base)
    if cache:
        _evict(base, keep=name)
    return Env(target, os.path.join(target, "bin", "python"), built=True)


def _build(path: str, specs: list[str], base: str) -> None:
    staging = f"{path}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    uv = uv_binary()
    # Only what reaching the package index needs: never the worker's secrets (a package's
    # build script runs with this environment).
    passed = {k: v for k, v in os.environ.items()
              if k in INDEX_VARIABLES or k.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
              or (k.startswith("UV_") and k != "UV_CACHE_DIR")}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": base,
           "UV_CACHE_DIR": os.path.join(base, ".uv-cache"), "UV_NO_PROGRESS": "1", **passed}
    steps = [[uv, "venv", "--quiet", "--python", SYSTEM_PYTHON, staging],
             [uv, "pip", "install", "--quiet", "--python", os.path.join(staging, "bin", "python"),
              "--link-mode", "copy", *specs]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            message = (done.stderr or done.stdout).strip().splitlines()
            raise BuildFailed("installing the dependencies failed: " + " | ".join(message[-6:]))
    open(os.path.join(staging, ".ready"), "w").close()
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    os.rename(staging, path)
    for folder, dirs, files in os.walk(path):
        for item in dirs + files:
            full = os.path.join(folder, item)
            if not os.path.islink(full):
                os.chmod(full, os.stat(full).st_mode | 0o444 | (0o111 if os.path.isdir(full) else 0))
    os.chmod(path, 0o755)


def _touch(path: str) -> None:
    with contextlib.suppress(OSError):
        os.utime(os.path.join(path, ".ready"))


def _size(path: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _evict(base: str, keep: str) -> None:
    """Drop the least recently used environments while there are more than
    `WEIR_SCRIPT_ENVS_MAX` (20) or they take more than `WEIR_SCRIPT_ENVS_MAX_MB` (5120) in all."""
    limit = int(os.environ.get("WEIR_SCRIPT_ENVS_MAX", "20"))
    cap = int(os.environ.get("WEIR_SCRIPT_ENVS_MAX_MB", "5120")) * 1024 * 1024
    ready = []
    for entry in os.listdir(base):
        marker = os.path.join(base, entry, ".ready")
        if entry != keep and os.path.isfile(marker):
            ready.append((os.stat(marker).st_mtime, entry, _size(os.path.join(base, entry))))
    ready.sort()
    total = sum(size for *_, size in ready) + _size(os.path.join(base, keep))
    while ready and (len(ready) + 1 > limit or total > cap):
        _, entry, size = ready.pop(0)
        shutil.rmtree(os.path.join(base, entry), ignore_errors=True)
        total -= size


def system() -> Env:
    return Env(os.path.dirname(os.path.dirname(SYSTEM_PYTHON)), SYSTEM_PYTHON, built=False)



__all__ = ["BuildFailed", "Env", "ensure", "key", "root_dir", "system"]
