"""The remote CLI against a real server (uvicorn on a free port, an in-process worker), run as a
subprocess whose environment has no database settings: `DJANGO_SETTINGS_MODULE` names a module
that does not exist and the wrapper fails if Django was imported at all."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from apps.cli.devserver import ServerThread, start_worker, stop_worker
from apps.cli.remote.progress import Progress
from tests.conftest import bind
from tests.ops import opskit

NS = "gitops"
WRAPPER = ("import sys; from apps.cli.main import main; code = main(sys.argv[1:]); "
           "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
           "print('DJANGO IMPORTED', leaked[:5]) if leaked else None; sys.exit(code if not leaked else 99)")


def flow(flow_id: str, message: str = "hello", namespace: str = NS) -> str:
    return (f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n"
            f"    message: {message}\n")


@dataclass
class Remote:
    server: ServerThread
    token: str
    user: Any

    def run(self, *args: str, token: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items()
               if k not in {"DATABASE_URL", "REDIS_URL"} and not k.startswith(("PYTEST_", "DJANGO_", "WEIR_"))}
        env.update({"DJANGO_SETTINGS_MODULE": "no_such_settings_module", "PYTHONPATH": str(opskit.ROOT),
                    "WEIR_SERVER": self.server.url, "WEIR_TOKEN": token if token is not None else self.token})
        return subprocess.run([sys.executable, "-c", WRAPPER, *args], cwd=opskit.ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def remote(transactional_db: Any, django_user_model: Any) -> Iterator[Remote]:
    from apps.accounts.services import create_token

    user = bind(django_user_model.objects.create_user("ci-bot", password="pw"), "WRITE", NS)
    token = create_token(user, "ci").raw
    start_worker()
    try:
        with ServerThread() as server:
            yield Remote(server, token, user)
    finally:
        stop_worker()


def stored(flow_id: str) -> tuple[int, str] | None:
    from apps.flows.models import Flow

    row = Flow.objects.filter(namespace=NS, flow_id=flow_id, deleted=False).first()
    return (row.revision, row.source) if row else None


def test_sync_dry_run_apply_idempotent_update_delete(remote: Remote, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "a.yml").write_text(flow("alpha"))
    (folder / "more.yaml").write_text(flow("beta") + "---\n" + flow("gamma", "three"))

    dry = remote.run("flow", "sync", str(folder), "--namespace", NS)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "+ create gitops.alpha" in dry.stdout and "+ create gitops.gamma" in dry.stdout
    assert "3 to create, 0 to update, 0 to delete, 0 unchanged" in dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    assert stored("alpha") is None

    applied = remote.run("flow", "sync", str(folder), "--namespace", NS, "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "created   gitops.beta r1" in applied.stdout
    assert stored("gamma") == (1, flow("gamma", "three"))

    again = remote.run("flow", "sync", str(folder), "--namespace", NS, "--apply")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 to create, 0 to update, 0 to delete, 3 unchanged" in again.stdout
    assert "nothing to change" in again.stdout
    assert stored("alpha") == (1, flow("alpha")) and stored("gamma") == (1, flow("gamma", "three"))

    (folder / "a.yml").write_text(flow("alpha", "changed"))
    (folder / "more.yaml").write_text(flow("beta"))  # gamma leaves the folder
    dry = remote.run("flow", "sync", str(folder), "--namespace", NS)
    assert "~ update gitops.alpha" in dry.stdout
    assert "-    message: hello" in dry.stdout and "+    message: changed" in dry.stdout
    assert "keep   gitops.gamma (not in the folder; --delete removes it)" in dry.stdout
    assert "0 to create, 1 to update, 0 to delete, 1 unchanged, 1 kept" in dry.stdout
    assert stored("alpha") == (1, flow("alpha"))

    deleted = remote.run("flow", "sync", str(folder), "--namespace", NS, "--delete", "--apply")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert "- delete gitops.gamma" in deleted.stdout
    assert "deleted   gitops.gamma" in deleted.stdout
    assert stored("gamma") is None
    assert stored("alpha") == (2, flow("alpha", "changed"))
    assert stored("beta") == (1, flow("beta"))

    final = remote.run("flow", "sync", str(folder), "--namespace", NS, "--delete", "--apply")
    assert "nothing to change" in final.stdout, final.stdout


def test_an_invalid_file_stops_sync_and_deploy_before_any_write(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(flow("good"))
    (tmp_path / "bad.yml").write_text(flow("bad").replace("io.kestra.plugin.core.log.Log", "io.kestra.NoSuchTask"))
    for command in (("flow", "sync", str(tmp_path), "--namespace", NS, "--apply"),
                    ("flow", "deploy", str(tmp_path), "--namespace", NS),
                    ("flow", "validate", str(tmp_path))):
        done = remote.run(*command)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"{tmp_path / 'bad.yml'}:5:" in done.stdout, done.stdout
        assert "good.yml:" not in done.stdout.replace("validating: ", "")
    assert stored("good") is None


def test_flows_of_another_namespace_are_refused(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text(flow("x", namespace="elsewhere"))
    done = remote.run("flow", "sync", str(tmp_path), "--namespace", NS)
    assert done.returncode == 1
    assert "flow namespace 'elsewhere' is not 'gitops'" in done.stdout


def test_an_empty_folder_is_refused(remote: Remote, tmp_path: Path) -> None:
    done = remote.run("flow", "sync", str(tmp_path), "--namespace", NS, "--delete", "--apply")
    assert done.returncode == 1
    assert "refusing to sync (it would delete every flow of gitops)" in done.stdout


def test_deploy_through_the_server(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "one.yml").write_text(flow("one"))
    done = remote.run("flow", "deploy", str(tmp_path), "--namespace", NS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created   gitops.one r1" in done.stdout
    again = remote.run("flow", "deploy", str(tmp_path), "--namespace", NS)
    assert "unchanged gitops.one r1" in again.stdout

    (tmp_path / "odd.yml").write_text(flow("odd", '"hi {{ unclosed"'))
    quiet = remote.run("flow", "validate", str(tmp_path / "odd.yml"))
    verbose = remote.run("flow", "validate", "-v", str(tmp_path / "odd.yml"))
    assert quiet.returncode == verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "warning:" not in quiet.stdout
    assert f"{tmp_path / 'odd.yml'}:6:" in verbose.stdout and "warning:" in verbose.stdout


def test_execution_run_waits_and_exits_with_the_final_state(remote: Remote, tmp_path: Path) -> None:
    from apps.executions.models import Execution
    from apps.flows.services import save_flow

    save_flow(remote.user, f"id: greet\nnamespace: {NS}\ninputs:\n  - id: who\n    type: STRING\ntasks:\n"
                           "  - id: first\n    type: io.kestra.plugin.core.log.Log\n    message: hi {{ inputs.who }}\n"
                           "  - id: second\n    type: io.kestra.plugin.core.log.Log\n    message: bye\n")
    save_flow(remote.user, f"id: doomed\nnamespace: {NS}\ntasks:\n  - id: boom\n"
                           "    type: io.kestra.plugin.core.execution.Fail\n    errorMessage: on purpose\n")
    done = remote.run("execution", "run", NS, "greet", "--input", "who=bob", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("execution ")
    assert any(line.split()[:2] == ["SUCCESS", "first"] for line in lines), done.stdout
    assert any(line.split()[:2] == ["SUCCESS", "second"] for line in lines), done.stdout
    assert lines[-1].endswith("ended SUCCESS")
    execution_id = lines[0].split()[1]
    assert Execution.objects.get(id=execution_id).inputs == {"who": "bob"}

    failed = remote.run("execution", "run", NS, "doomed", "--wait")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "FAILED    boom" in failed.stdout and failed.stdout.rstrip().endswith("ended FAILED")

    missing = remote.run("execution", "run", NS, "greet", "--wait")  # a required input left out
    assert missing.returncode == 2
    assert "who" in missing.stderr and "HTTP 422" in missing.stderr

    started = remote.run("execution", "run", NS, "doomed")  # without --wait: started, exit 0
    assert started.returncode == 0 and started.stdout.startswith("execution ")

    save_flow(remote.user, f"id: slow\nnamespace: {NS}\ntasks:\n  - id: nap\n"
                           "    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT30S\n")
    waited = remote.run("execution", "run", NS, "slow", "--wait", "--timeout", "1")
    assert waited.returncode == 5, waited.stdout + waited.stderr
    assert "is still RUNNING after 1 s" in waited.stdout
    from apps.executions import services

    services.kill(waited.stdout.split()[1])

    bad = remote.run("execution", "run", NS, "greet", "--input", "no-equals-sign")
    assert bad.returncode == 2 and "use --input NAME=VALUE" in bad.stderr


def test_a_bad_token_is_a_clear_error(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(flow("a"))
    done = remote.run("flow", "sync", str(tmp_path), "--namespace", NS, token="wrong")
    assert done.returncode == 2
    assert "invalid, expired or revoked API token (HTTP 401)" in done.stderr
    done = remote.run("flow", "sync", str(tmp_path), "--namespace", NS, token="")
    assert "needs an API token" in done.stderr


def test_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one() -> None:
    plain = io.StringIO()
    with Progress("validating", 2, stream=plain) as progress:
        progress.advance("a.yml")
        progress.line("a.yml:1:1: broken")
        progress.advance("b.yml")
    assert plain.getvalue().splitlines() == ["[1/2] validating: a.yml", "a.yml:1:1: broken", "[2/2] validating: b.yml"]

    terminal = io.StringIO()
    with Progress("validating", 2, stream=terminal, bar=True) as progress:
        progress.advance("a.yml")
        progress.line("a.yml:1:1: broken")
    assert "a.yml:1:1: broken" in terminal.getvalue()
    assert "[1/2]" not in terminal.getvalue()


def test_namespace_files_sync_dry_run_apply_idempotent_delete(remote: Remote, tmp_path: Path) -> None:
    from apps.files import store

    store.write(NS, "old/stale.sql", b"select 1")
    store.write(NS, "etl/keep.py", b"print('same')\n")
    folder = tmp_path / "files"
    (folder / "etl").mkdir(parents=True)
    (folder / "etl" / "keep.py").write_bytes(b"print('same')\n")
    (folder / "etl" / "clean.py").write_bytes(b"print('new')\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: x")
    dry = remote.run("namespace", "files", "sync", str(folder), "--namespace", NS)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "+ /etl/clean.py" in dry.stdout and "dry run" in dry.stdout
    assert "1 file(s) only on the server are kept" in dry.stdout
    assert store.find(NS, "etl/clean.py") is None
    applied = remote.run("namespace", "files", "sync", str(folder), "--namespace", NS, "--apply", "--delete")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "- /old/stale.sql" in applied.stdout and "applied" in applied.stdout
    clean = store.find(NS, "etl/clean.py")
    assert clean is not None and store.read_bytes(clean) == b"print('new')\n"
    assert store.find(NS, "old/stale.sql") is None and store.find(NS, ".git/HEAD") is None
    again = remote.run("namespace", "files", "sync", str(folder), "--namespace", NS, "--apply", "--delete")
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout
    (folder / "etl" / "clean.py").write_bytes(b"print('changed')\n")
    update = remote.run("namespace", "files", "sync", str(folder), "--namespace", NS, "--apply")
    assert "~ /etl/clean.py" in update.stdout and store.read_bytes(store.find(NS, "etl/clean.py")) == b"print('changed')\n"
