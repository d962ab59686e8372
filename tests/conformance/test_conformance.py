"""`manage.py conformance`: the runner of Kestra's conformance manifest, end to end.

The command runs as a real process (its stdout lines and exit code are the interface) on the
test's database: PostgreSQL when DATABASE_URL points at it, where the runner starts a Celery
worker process if REDIS_URL is set; otherwise a migrated SQLite file (the in-memory test
database cannot be shared with a worker) and the standalone in-process worker threads.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from conformance_runner import actions, expect
from conformance_runner.manifest import load
from conformance_runner.placeholders import environment
from conformance_runner.workers import database_url

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "manifest.yaml"
SIMPLE = ["minimal", "sequential", "parallel", "if-condition", "if-condition/falsy-bool", "if-condition/truthy-int-1"]


def _conformance(manifest: Path, workdir: Path, *only: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", WEIR_DATA_DIR=str(workdir / "data"),
               PYTHONUNBUFFERED="1")
    shared_db = database_url()
    env["DATABASE_URL"] = shared_db or f"sqlite:///{workdir / 'conformance.sqlite3'}"
    base = str(settings.BASE_DIR)
    if shared_db is None:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=base, check=True, timeout=300)
    command = [sys.executable, "manage.py", "conformance", str(manifest), *(["--only", *only] if only else [])]
    return subprocess.run(command, env=env, cwd=base, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared conformance corpus is not checked out")
@pytest.mark.django_db(transaction=True)
def test_simple_scenarios_of_the_shared_manifest_pass(tmp_path: Path) -> None:
    done = _conformance(SHARED, tmp_path, *SIMPLE)

    order = [s.id for s in load(SHARED).scenarios]
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [*(f"PASS {sid}" for sid in sorted(SIMPLE, key=order.index)),
                                        f"{len(SIMPLE)} passed, 0 failed"], done.stderr[-2000:]


PASS_RATE = 0.95
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


@pytest.mark.skipif(not SHARED.exists(), reason="the shared conformance corpus is not checked out")
@pytest.mark.django_db(transaction=True)
def test_the_whole_shared_manifest_passes(tmp_path: Path) -> None:
    """Every scenario of the shared manifest, on PostgreSQL + Redis + a Celery worker process when
    they are configured (standalone threads on SQLite otherwise); the failures are printed."""
    done = _conformance(SHARED, tmp_path)

    lines = done.stdout.splitlines()
    failures = [line for line in lines if line.startswith("FAIL ")]
    print(f"\n{len(failures)} failing scenario(s):", *failures, sep="\n")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert summary is not None, done.stdout[-2000:] + done.stderr[-2000:]
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert passed + failed == len(load(SHARED).scenarios)
    assert passed >= PASS_RATE * (passed + failed), "\n".join(failures)


TINY_MANIFEST = """\
# A tiny manifest in the notation of ../shared/conformance/manifest.yaml
valids:
- file: valids/ok.yaml
  id: ok
  namespace: conformance.tiny
  inputs: {}
  inputs_mode: none
  expect:
    state: SUCCESS
    taskruns: 2
    outputs:
      second.value: hello tiny
  more_cases:
  - name: wrong-count
    expect:
      taskruns: 3
  - name: unknown-key
    expect:
      state: SUCCESS
      colour_of_the_sky: blue
- file: valids/fails.yaml
  id: fails
  namespace: conformance.tiny
  inputs:
    word: boom
  inputs_mode: raw
  expect:
    state: SUCCESS
- file: valids/broken.yaml
  id: broken
  namespace: conformance.tiny
  expect:
    state: SUCCESS
- file: valids/never.yaml
  id: never
  namespace: conformance.tiny
  expect: parse-only
"""
FLOWS = {
    "ok.yaml": """\
        id: ok
        namespace: conformance.tiny
        tasks:
          - id: first
            type: io.kestra.plugin.core.debug.Return
            format: hello
          - id: second
            type: io.kestra.plugin.core.debug.Return
            format: "{{ outputs.first.value }} tiny"
        """,
    "fails.yaml": """\
        id: fails
        namespace: conformance.tiny
        inputs:
          - id: word
            type: STRING
        tasks:
          - id: fail
            type: io.kestra.plugin.core.execution.Fail
            errorMessage: "{{ inputs.word }}"
        """,
    "broken.yaml": """\
        id: broken
        namespace: conformance.tiny
        tasks: []
        """,
    "never.yaml": """\
        id: never
        namespace: conformance.tiny
        tasks:
          - id: t
            type: io.kestra.plugin.core.debug.Return
            format: x
        """,
}


@pytest.mark.django_db(transaction=True)
def test_a_tiny_manifest_reports_each_scenario_and_a_summary(tmp_path: Path) -> None:
    (tmp_path / "flows" / "valids").mkdir(parents=True)
    (tmp_path / "manifest.yaml").write_text(TINY_MANIFEST)
    for name, text in FLOWS.items():
        (tmp_path / "flows" / "valids" / name).write_text(textwrap.dedent(text))

    done = _conformance(tmp_path / "manifest.yaml", tmp_path)

    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DEPLOY valids/broken.yaml: invalid" in done.stderr
    assert lines[0] == "PASS ok"
    assert lines[1] == "FAIL ok/wrong-count: taskruns: got 2, expected 3"
    assert lines[2].startswith("FAIL ok/unknown-key: unknown expectation key(s) colour_of_the_sky")
    assert lines[3] == "FAIL fails: state: got FAILED, expected SUCCESS"
    assert lines[4] == "FAIL broken: flow(s) not deployed: conformance.tiny/broken"
    assert lines[5:] == ["1 passed, 4 failed"]


def test_an_unreadable_manifest_is_the_only_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read manifest"):
        call_command("conformance", str(tmp_path / "missing.yaml"), stdout=io.StringIO())


@pytest.mark.parametrize(("phrase", "kinds"), [
    ("Start execution #1 and wait until it is RUNNING, then start execution #2 while #1 is still running.",
     ["start", "wait", "start"]),
    ("Wait until the execution and its task run are RUNNING, then kill it through the API.", ["wait", "kill"]),
    ("set the `pause` task run to RUNNING (ExecutionService.markAs), i.e. a manual resume", ["mark"]),
    ("POST JSON {a: 1, b: true} to /api/v1/executions/webhook/ns/flow/key?x=1", ["http"]),
    ("Run the flow 3 times in a row with the same input.", ["series"]),
], ids=["concurrency", "kill", "markas", "webhook", "series"])
def test_scenario_phrases_read_as_steps(phrase: str, kinds: list[str]) -> None:
    assert [step.kind for step in actions.parse(phrase)] == kinds


def test_an_unknown_phrase_is_an_error_not_a_skip() -> None:
    with pytest.raises(actions.PhraseError, match="unknown phrase"):
        actions.parse("dance around the execution")


@pytest.mark.parametrize(("actual", "expected", "ok"), [
    (1, 1, True), (True, 1, False), ("1", 1, False), ("a json > JSON", {"contains": "json >"}, True),
    ("abc", {"matches": "a.c"}, True), ("abcd", {"matches": "a.c"}, False), ([1, 2], {"has_items": [2]}, True),
    (["13", "12"], {"contains_in_any_order": ["12", "13"]}, True), (3, {"min": 2}, True),
    ({"a": 1, "b": 2}, {"_size": 1, "a": 1}, False),
], ids=["int", "bool-vs-int", "str-vs-int", "contains", "matches", "matches-whole", "has-items", "any-order",
        "min", "size"])
def test_expected_values_follow_the_notation(actual: object, expected: object, ok: bool) -> None:
    assert (expect.match(actual, expected, "x") is None) is ok


def test_preconditions_set_secrets_envs_and_globals() -> None:
    envs, server_globals = environment(
        "Environment SECRET_KEY = base64('secretKey'); KESTRA_A=true, KESTRA_B='by env'; "
        "server config globals {int: 1, nested: {x: 2}} (kestra.variables.globals).")
    assert envs == {"SECRET_KEY": "c2VjcmV0S2V5", "KESTRA_A": "true", "KESTRA_B": "by env"}
    assert server_globals == {"int": 1, "nested": {"x": 2}}
