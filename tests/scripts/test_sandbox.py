"""Escape tests for script tasks (RELIABILITY.md §4 rows 17 and 41, docs/adr/0019-script-sandbox.md).

Each flow tries to reach what a script must never reach, then a plain task runs after it: the
worker keeps serving. Run with bubblewrap when it is installed (CI installs it) and, as CI runs
as root, with the unprivileged script uid.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.scripts.conftest import run_flow

pytestmark = pytest.mark.django_db(transaction=True)

NEEDS_BWRAP = pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                                 reason="bubblewrap is not installed (CI installs it)")


def test_worker_environment_is_not_visible(root: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_SECRET_KEY", "worker-secret-key-value")
    monkeypatch.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "postgres://x@y/z"))
    ran = run_flow(root, """\
        id: env_probe
        namespace: acme.sandbox
        tasks:
          - id: probe
            type: io.kestra.plugin.scripts.python.Script
            env:
              MINE: declared
            script: |
              import os
              from kestra import Kestra
              environ1 = ""
              try:
                  environ1 = open("/proc/1/environ", "rb").read().decode(errors="replace")
              except OSError as error:
                  environ1 = "denied"
              Kestra.outputs({"keys": sorted(os.environ), "mine": os.environ.get("MINE"), "environ1": environ1})
        """)
    assert ran.state == "SUCCESS", ran.logs()
    out = ran.outputs("probe")["vars"]
    assert out["mine"] == "declared"
    for forbidden in ("WEIR_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "WEIR_DATA_DIR"):
        assert forbidden not in out["keys"]
        assert forbidden not in out["environ1"]
    assert "worker-secret-key-value" not in str(out)


@NEEDS_BWRAP
def test_data_directory_database_and_other_runs_are_not_visible(root: Any) -> None:
    other_run = Path(tempfile.mkdtemp(prefix="weir-script-"))
    (other_run / "secret.txt").write_text("another run's file")
    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "probe.sqlite3").write_text("database file")
    try:
        ran = run_flow(root, f"""\
            id: fs_probe
            namespace: acme.sandbox
            tasks:
              - id: probe
                type: io.kestra.plugin.scripts.python.Script
                script: |
                  import os
                  from kestra import Kestra
                  seen = {{}}
                  for path in ["{other_run}/secret.txt", "{data_dir}/probe.sqlite3", "{settings.BASE_DIR}/manage.py"]:
                      try:
                          seen[path] = open(path).read()
                      except OSError as error:
                          seen[path] = type(error).__name__
                  try:
                      open("/usr/evil.txt", "w").write("x")
                      seen["write /usr"] = "written"
                  except OSError as error:
                      seen["write /usr"] = type(error).__name__
                  Kestra.outputs({{"seen": seen}})
              - id: after
                type: io.kestra.plugin.core.log.Log
                message: still serving
            """)
    finally:
        shutil.rmtree(other_run, ignore_errors=True)
        (data_dir / "probe.sqlite3").unlink()
    assert ran.state == "SUCCESS", ran.logs()
    seen = ran.outputs("probe")["vars"]["seen"]
    assert all(value in ("FileNotFoundError", "PermissionError", "OSError") for value in seen.values()), seen
    assert not os.path.exists("/usr/evil.txt")


def test_fork_bomb_memory_hog_and_huge_file_are_contained(root: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_SCRIPT_FILE_SIZE_MB", "20")
    monkeypatch.setenv("WEIR_SCRIPT_MEMORY_MB", "512")
    monkeypatch.setenv("WEIR_SCRIPT_PROCESSES", "64")
    ran = run_flow(root, """\
        id: bombs
        namespace: acme.sandbox
        tasks:
          - id: forkbomb
            type: io.kestra.plugin.scripts.shell.Script
            allowFailure: true
            timeout: PT5S
            script: |
              bomb() { bomb | bomb & }; bomb
              sleep 10
          - id: hog
            type: io.kestra.plugin.scripts.python.Script
            allowFailure: true
            script: |
              data = bytearray(2 * 1024 * 1024 * 1024)
              print("allocated", len(data))
          - id: bigfile
            type: io.kestra.plugin.scripts.shell.Commands
            allowFailure: true
            commands:
              - dd if=/dev/zero of=big.bin bs=1M count=10240
          - id: after
            type: io.kestra.plugin.scripts.shell.Commands
            commands:
              - echo still serving
        """, wait=120)
    assert ran.task_state("forkbomb") == "WARNING"  # failed (timeout), allowed
    assert ran.task_state("hog") == "WARNING"
    assert any("MemoryError" in m for m in ran.messages("hog"))
    assert "allocated" not in " ".join(ran.messages("hog"))
    assert ran.task_state("bigfile") == "WARNING"
    assert ran.task_state("after") == "SUCCESS"
    assert "still serving" in ran.messages("after")


def test_inputs_reach_scripts_as_data_not_code(root: Any, tmp_path: Path) -> None:
    """RELIABILITY.md §4 row 17: an input with shell syntax arrives as an environment value."""
    marker = tmp_path / "pwn"
    ran = run_flow(root, """\
        id: injection
        namespace: acme.sandbox
        inputs:
          - id: name
            type: STRING
        tasks:
          - id: greet
            type: io.kestra.plugin.scripts.shell.Commands
            env:
              NAME: "{{ inputs.name }}"
            commands:
              - echo "hello $NAME"
        """, inputs={"name": f'"; touch {marker}; echo "$(id)'})
    assert ran.state == "SUCCESS", ran.logs()
    assert not marker.exists()
    assert any(m.startswith('hello "; touch') for m in ran.messages("greet"))
