"""`io.kestra.plugin.core.runner.Process`: run an argv as a confined child process.

The child runs in its own session (so its whole tree is one process group, or one PID
namespace under bubblewrap), its stdout and stderr are read line by line on two threads and
handed to `on_line` as they come, and a watchdog ends the tree when the attempt is cancelled
(kill, timeout, lost lease): SIGTERM to the group, then SIGKILL after `GRACE_SECONDS`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO

from plugins.scripts import sandbox

GRACE_SECONDS = 1.0
"""Between SIGTERM and SIGKILL: a killed script's tree is gone within about this plus a poll."""
POLL_SECONDS = 0.05
MAX_LINE = 64 * 1024
"""Longer lines are cut (with a marker) so one line cannot exhaust the worker's memory."""


class Stopped(Exception):
    """The run was cancelled and its process tree ended."""


def run(argv: list[str], *, workdir: str, env: dict[str, str], readonly: list[str],
        on_line: Callable[[str, str], None], cancelled: Callable[[], bool],
        policy: sandbox.Policy | None = None) -> int:
    """Run `argv` in `workdir`; `on_line(stream, text)` gets each line ("stdout"/"stderr").
    Returns the exit code (negative: killed by that signal). Raises `Stopped` when
    `cancelled()` became true, after the whole process tree has ended."""
    policy = policy or sandbox.Policy.current()
    if policy.uid is not None:  # the script's uid owns its directory and what was written into it
        for folder, _dirs, files in os.walk(workdir):
            os.chown(folder, policy.uid, policy.uid)
            for name in files:
                os.chown(os.path.join(folder, name), policy.uid, policy.uid, follow_symlinks=False)
    command = sandbox.wrap(argv, policy, workdir, readonly)
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=sandbox.limiter(policy))
    readers = [threading.Thread(target=_pump, args=(stream, name, on_line), daemon=True,
                                name=f"weir-script-{name}")
               for stream, name in ((process.stdout, "stdout"), (process.stderr, "stderr"))]
    for reader in readers:
        reader.start()
    stopped = threading.Event()
    exited = threading.Event()

    def watchdog() -> None:
        while not exited.wait(POLL_SECONDS):
            if cancelled():
                stopped.set()
                _end_tree(process)
                return

    watcher = threading.Thread(target=watchdog, daemon=True, name="weir-script-watchdog")
    watcher.start()
    code = process.wait()  # blocking: no polling delay when the script ends
    exited.set()
    watcher.join()
    for reader in readers:
        reader.join(timeout=5)
    if stopped.is_set():
        raise Stopped()
    return code


def _pump(stream: IO[bytes] | None, name: str, on_line: Callable[[str, str], None]) -> None:
    if stream is None:
        return
    with stream:
        while True:
            raw = stream.readline(MAX_LINE)
            if not raw:
                return
            text = raw.decode("utf-8", errors="replace")
            if text.endswith("\n"):
                text = text[:-1].rstrip("\r")
            elif len(raw) >= MAX_LINE:
                text += f" …[line cut at {MAX_LINE} bytes]"
                _skip_rest_of_line(stream)
            on_line(name, text)


def _skip_rest_of_line(stream: IO[bytes]) -> None:
    while True:
        chunk = stream.readline(MAX_LINE)
        if not chunk or chunk.endswith(b"\n"):
            return


def _end_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever is left after the grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(process.pid):
                return
            time.sleep(POLL_SECONDS)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
