"""Script tasks on a real Celery worker process (PostgreSQL + Redis): outputs, files and exit
codes across tasks, and a kill that ends a script's whole process tree, grandchildren included."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults import faultkit

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

FLOW = """\
id: on_worker
namespace: acme.worker
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    outputFiles: ["out/*.json"]
    script: |
      import json, os
      from kestra import Kestra
      os.makedirs("out")
      json.dump({"n": 3}, open("out/result.json", "w"))
      Kestra.outputs({"pid": os.getpid(), "n": 3})
  - id: node
    type: io.kestra.plugin.scripts.node.Commands
    inputFiles:
      result.json: "{{ outputs.py.outputFiles['out/result.json'] }}"
    commands:
      - >-
        node -e "const r = require('./result.json');
        console.log('::' + JSON.stringify({outputs: {doubled: r.n * 2}}) + '::')"
  - id: sh
    type: io.kestra.plugin.scripts.shell.Script
    allowFailure: true
    script: |
      echo "doubled={{ outputs.node.vars.doubled }}"
      exit 7
"""

TREE = """\
id: tree
namespace: acme.worker
tasks:
  - id: spawner
    type: io.kestra.plugin.scripts.shell.Script
    script: |
      sh -c 'sleep 300 & echo "grandchild $!"; wait' &
      echo "child $!"
      setsid sleep 301 &
      sleep 302
"""


@pytest.fixture(autouse=True)
def eager() -> None:
    """Overrides tests/scripts/conftest.py's eager mode: these tasks go through the broker."""


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path) -> Iterator[faultkit.Service]:
    import config.celery  # noqa: F401 - the app this process publishes with

    faultkit.flush_broker()
    service = faultkit.worker("scripts", faultkit.service_env(tmp_path), tmp_path).start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


def test_script_tasks_on_a_real_worker(worker: faultkit.Service) -> None:
    from apps.executions.models import LogLine, TaskRun

    faultkit.deploy(FLOW)
    [execution_id] = faultkit.submit("acme.worker", "on_worker")
    state = faultkit.wait_terminal([execution_id], 120)[execution_id]
    lines = list(LogLine.objects.filter(execution_id=execution_id).values_list("task_id", "message"))
    assert state == "WARNING", (lines, worker.log()[-3000:])
    runs = {r.task_id: r for r in TaskRun.objects.filter(execution_id=execution_id)}
    assert runs["py"].outputs["vars"]["n"] == 3
    assert runs["py"].outputs["vars"]["pid"] != worker.pid  # a process of its own
    assert list(runs["py"].outputs["outputFiles"]) == ["out/result.json"]
    assert runs["node"].outputs["vars"] == {"doubled": 6}
    assert runs["sh"].outputs["exitCode"] == 7
    sh_lines = [message for task, message in lines if task == "sh"]
    assert "doubled=6" in sh_lines and "Command failed with exit code 7" in sh_lines


def _sleepers(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if cmdline.startswith("sleep ") and marker in cmdline and faultkit.alive(int(pid)):
                found.append(int(pid))
    return found


def _describe(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return "gone"
    return f"{cmdline} (parent {parent})"


def test_kill_ends_the_whole_process_tree(worker: faultkit.Service) -> None:
    from apps.executions import services
    from apps.executions.models import LogLine

    faultkit.deploy(TREE)
    [execution_id] = faultkit.submit("acme.worker", "tree")
    deadline = time.monotonic() + 60
    while len(_sleepers("30")) < 3:
        assert time.monotonic() < deadline, f"the script did not start its processes:\n{worker.log()[-3000:]}"
        time.sleep(0.1)
    while not LogLine.objects.filter(execution_id=execution_id, message__startswith="child").exists():
        assert time.monotonic() < deadline, "the script's output did not reach the log while it ran"
        time.sleep(0.1)
    started = time.monotonic()
    services.kill(execution_id)
    while _sleepers("30") and time.monotonic() - started < 30:  # a liveness bound, not a timing assert
        time.sleep(0.05)
    gone_after = time.monotonic() - started
    print(f"process tree gone {gone_after:.2f} s after the kill")
    survivors = {pid: _describe(pid) for pid in _sleepers("30")}
    assert survivors == {}, f"processes survived the kill: {survivors}\n{worker.log()[-3000:]}"
    assert faultkit.wait_terminal([execution_id], 30)[execution_id] == "KILLED"
