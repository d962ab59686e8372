"""How a script process is confined (docs/adr/0019-script-sandbox.md).

Every run gets: its own working directory, its own session and process group, an environment
built from an allow-list (nothing of the worker's own: no DATABASE_URL, REDIS_URL, secret or
Fernet keys), rlimits for memory, CPU time, processes, open files and file size, and, when
the worker is root, an unprivileged uid. Where bubblewrap (`bwrap`) is installed the process
also sees a read-only system, a private /tmp, no Weir data directory, database files or other
runs, and the network only when `WEIR_SCRIPT_NETWORK` allows it (the default: scripts fetch
data). Without bubblewrap the rest still applies and the worker logs once that scripts run
unsandboxed.

Settings are environment variables read when a run starts (the plugin's own configuration):
`WEIR_SCRIPT_MEMORY_MB` (2048), `WEIR_SCRIPT_CPU_SECONDS` (3600), `WEIR_SCRIPT_PROCESSES` (256),
`WEIR_SCRIPT_OPEN_FILES` (1024), `WEIR_SCRIPT_FILE_SIZE_MB` (1024), `WEIR_SCRIPT_NETWORK` (true),
`WEIR_SCRIPT_UID` (65534, used when the worker runs as root), `WEIR_SCRIPT_BWRAP` (auto|off).
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger("weir.scripts")

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
ETC_VISIBLE = ("ssl", "ca-certificates", "resolv.conf", "hosts", "passwd", "group", "nsswitch.conf",
               "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "mime.types",
               "host.conf", "gai.conf", "protocols", "services")
"""What of /etc a sandboxed script sees: name resolution, certificates, users, the loader."""

_warned = False


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Policy:
    memory_mb: int
    cpu_seconds: int
    processes: int
    open_files: int
    file_size_mb: int
    network: bool
    uid: int | None
    bwrap: str | None

    @classmethod
    def current(cls) -> Policy:
        network = os.environ.get("WEIR_SCRIPT_NETWORK", "true").lower() not in ("0", "false", "no", "off")
        bwrap = None if os.environ.get("WEIR_SCRIPT_BWRAP", "auto").lower() == "off" else shutil.which("bwrap")
        uid = _env_int("WEIR_SCRIPT_UID", 65534) if os.geteuid() == 0 else None
        return cls(memory_mb=_env_int("WEIR_SCRIPT_MEMORY_MB", 2048),
                   cpu_seconds=_env_int("WEIR_SCRIPT_CPU_SECONDS", 3600),
                   processes=_env_int("WEIR_SCRIPT_PROCESSES", 256),
                   open_files=_env_int("WEIR_SCRIPT_OPEN_FILES", 1024),
                   file_size_mb=_env_int("WEIR_SCRIPT_FILE_SIZE_MB", 1024),
                   network=network, uid=uid, bwrap=bwrap)


def environment(extra: Mapping[str, str], workdir: str) -> dict[str, str]:
    """The allow-listed environment: a fixed PATH and locale, HOME in the working directory, and
    the variables the task declares. Nothing is copied from the worker's own environment."""
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": workdir,
           "TMPDIR": os.path.join(workdir, ".tmp")}
    env.update({str(k): str(v) for k, v in extra.items()})
    return env


def wrap(argv: list[str], policy: Policy, workdir: str, readonly: list[str]) -> list[str]:
    """`argv` inside bubblewrap when it is there: a read-only /usr and selected /etc, a private
    /tmp, /proc and /dev, the working directory writable, `readonly` paths (a Python
    environment) visible read-only, nothing else of the host's file system."""
    global _warned
    if policy.bwrap is None:
        if not _warned:
            log.warning("bubblewrap (bwrap) is not installed: script tasks run without a file-system "
                        "sandbox (environment allow-list, process group and rlimits still apply)")
            _warned = True
        return argv
    args = [policy.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--dir", "/etc"]
    if policy.network:
        args.append("--share-net")
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        target = os.path.join("/", link)
        if os.path.islink(target):
            args += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            args += ["--ro-bind", target, target]
    for name in ETC_VISIBLE:
        path = os.path.join("/etc", name)
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for path in readonly:
        args += ["--ro-bind", path, path]
    args += ["--bind", workdir, workdir, "--chdir", workdir, "--"]
    return args + argv


def limiter(policy: Policy) -> Callable[[], None]:
    """The function run in the child before exec: rlimits, then the unprivileged uid."""
    mib = 1024 * 1024

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (policy.cpu_seconds, policy.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_DATA, (policy.memory_mb * mib, policy.memory_mb * mib))
        resource.setrlimit(resource.RLIMIT_NOFILE, (policy.open_files, policy.open_files))
        resource.setrlimit(resource.RLIMIT_FSIZE, (policy.file_size_mb * mib, policy.file_size_mb * mib))
        resource.setrlimit(resource.RLIMIT_NPROC, (policy.processes, policy.processes))
        if policy.uid is not None:
            os.setgroups([])
            os.setgid(policy.uid)
            os.setuid(policy.uid)

    return apply
