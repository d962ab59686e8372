"""`manage.py conformance`: the runner of Kestra's conformance manifest, end to end.

The command deploys the manifest's flows into the test database and runs scenarios on the real
engine: a Celery worker process with Redis (REDIS_URL, on a database another process can open,
i.e. PostgreSQL under pytest), else the standalone in-process worker threads.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.executions.conformance import actions, expect
from apps.executions.conformance.placeholders import environment

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "manifest.yaml"
SIMPLE = ["minimal", "sequential", "parallel", "if-condition", "if-condition/falsy-bool", "if-condition/truthy-int-1"]


def _run(manifest: Path, *only: str) -> list[str]:
    out = io.StringIO()
    call_command("conformance", str(manifest), *(["--only", *only] if only else []), stdout=out,
                 stderr=io.StringIO())
    return out.getvalue().splitlines()


@pytest.fixture(autouse=True)
def _fresh_flow_cache() -> None:
    """Flows are compiled once per (namespace, id, revision); the database is flushed between tests."""
    from apps.executions import runner

    runner.compiled.cache_clear()


@pytest.mark.skipif(not SHARED.exists(), reason="the shared conformance corpus is not checked out")
@pytest.mark.django_db(transaction=True)
def test_simple_scenarios_of_the_shared_manifest_pass() -> None:
    lines = _run(SHARED, *SIMPLE)
    assert lines == [*(f"PASS {sid}" for sid in sorted(SIMPLE, key=_manifest_order)),
                     f"{len(SIMPLE)} passed, 0 failed"]


def _manifest_order(sid: str) -> int:
    from apps.executions.conformance.manifest import load

    return [s.id for s in load(SHARED).scenarios].index(sid)


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

    lines = _run(tmp_path / "manifest.yaml")

    assert lines[0] == "PASS ok"
    assert lines[1] == "FAIL ok/wrong-count: taskruns: got 2, expected 3"
    assert lines[2].startswith("FAIL ok/unknown-key: unknown expectation key(s) colour_of_the_sky")
    assert lines[3] == "FAIL fails: state: got FAILED, expected SUCCESS"
    assert lines[4:] == ["1 passed, 3 failed"]


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
