"""Catastrophic regexes and kills on real workers (issue 11 item 4, docs/adr/0012).

A pattern that backtracks exponentially, in a Log message, in the eval console and in a Flow
trigger's conditions, fails cleanly (a readable error naming the pattern) while other executions
keep finishing on the same worker (a pattern that hit its limit is then refused at once for a
while, so a listener's condition does not cost every execution end a full time limit). A killed execution's sleeping task ends KILLED and its worker
takes the next task. The worker is the real Celery worker on the test's PostgreSQL database and
the Redis database of REDIS_URL (flushed), as in tests/faults.

`EVIL` is ``(a|aa)+$`` on 39 ``a`` and a ``!``. The textbook ``(a+)+$`` is run in the same places:
the ``regex`` engine's optimiser answers it at once, which the tests check too (it would pin a
worker with Python's ``re``). Timings are printed (`pytest -s`), never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults import faultkit

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

NS = "redos"
SUBJECT = "a" * 39 + "!"
EVIL = "(a|aa)+$"
TEXTBOOK = "(a+)+$"
TOO_LONG = f"regular expression `{EVIL}` took too long"


def log_flow(flow_id: str, pattern: str) -> str:
    return f"""\
id: {flow_id}
namespace: {NS}
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ '{SUBJECT}' | replace({{'{pattern}': 'x'}}, regexp=true) }}}}"
"""


STEADY = f"""\
id: steady
namespace: {NS}
tasks:
  - id: one
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ execution.id }}}}"
  - id: two
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.one.value }}}} again"
"""
NAP = f"""\
id: nap
namespace: {NS}
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT120S
"""
UPSTREAM_ID = "a" * 39 + "-up"
UPSTREAM = f"""\
id: {UPSTREAM_ID}
namespace: {NS}
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: up
"""


def listener(flow_id: str, condition: str) -> str:
    return f"""\
id: {flow_id}
namespace: {NS}
tasks:
  - id: heard
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.executionId }}}}"
triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
{condition}"""


def expression_condition(pattern: str) -> str:
    return f"""\
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{{{ {{'s': '{SUBJECT}'}} | jq('.s | test(\\"{pattern}\\")') | first == false }}}}"
"""


def where_condition(pattern: str) -> str:
    return f"""\
    preconditions:
      id: regex
      where:
        - id: flow-id
          filters:
            - field: FLOW_ID
              type: REGEX
              value: "{pattern}"
"""


@pytest.fixture
def cluster(transactional_db: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    import config.celery  # noqa: F401 - the app the test process publishes with

    faultkit.flush_broker()
    started: list[faultkit.Service] = []

    def worker(name: str, concurrency: int, **env: str) -> faultkit.Service:
        service = faultkit.worker(name, faultkit.service_env(tmp_path, **env), tmp_path, concurrency).start()
        started.append(service)
        service.wait_ready(60)
        return service

    failed = request.session.testsfailed
    yield {"worker": worker}
    for service in started:
        service.stop()
    if request.session.testsfailed > failed:
        print("\n".join(f"--- {s.name}\n{s.log()[-4000:]}" for s in started))


def messages(execution_id: str) -> list[str]:
    from apps.executions.models import LogLine

    return list(LogLine.objects.filter(execution_id=execution_id).order_by("seq").values_list("message", flat=True))


def test_a_catastrophic_pattern_in_a_log_message_fails_the_task_while_others_finish(cluster: dict[str, Any]) -> None:
    from apps.executions.models import TaskRun

    for source in (log_flow("evil", EVIL), log_flow("textbook", TEXTBOOK), STEADY):
        faultkit.deploy(source)
    cluster["worker"]("redos", 2)
    started = time.monotonic()
    evil = faultkit.submit(NS, "evil", 2)
    textbook = faultkit.submit(NS, "textbook")
    steady = faultkit.submit(NS, "steady", 6)

    states = faultkit.wait_terminal(evil + textbook + steady, 90)
    print(f"\nall ended after {time.monotonic() - started:.2f}s: {sorted(states.values())}")

    assert [states[i] for i in steady] == ["SUCCESS"] * len(steady)
    for execution_id in evil:
        assert states[execution_id] == "FAILED"
        assert TaskRun.objects.get(execution_id=execution_id, task_id="log").state == "FAILED"
        assert any(TOO_LONG in line for line in messages(execution_id)), messages(execution_id)
    assert states[textbook[0]] == "SUCCESS"
    assert SUBJECT in messages(textbook[0])  # `(a+)+$` does not match: the message is unchanged


def test_a_catastrophic_pattern_in_eval_is_an_error_answer(cluster: dict[str, Any], api: Any) -> None:
    from apps.executions.models import TaskRun

    faultkit.deploy(STEADY)
    faultkit.deploy(NAP)
    cluster["worker"]("redos", 2)
    (napping,) = faultkit.submit(NS, "nap")
    faultkit.wait_running([napping], "nap", 1, timeout=60)
    nap_run = TaskRun.objects.get(execution_id=napping, task_id="nap")
    url = f"/api/v1/executions/{napping}/eval/{nap_run.id}"
    steady = faultkit.submit(NS, "steady", 3)

    started = time.monotonic()
    evil = api.generic("POST", url, f"{{{{ '{SUBJECT}' | replace({{'{EVIL}': 'x'}}, regexp=true) }}}}",
                       content_type="text/plain")
    print(f"\neval of {EVIL}: {evil.status_code} after {time.monotonic() - started:.2f}s")
    textbook = api.generic("POST", url, f"{{{{ '{SUBJECT}' | split('{TEXTBOOK}') | length }}}}",
                           content_type="text/plain")

    # Past a render limit eval answers 422 naming what stopped it (docs/adr/0011, 0012).
    assert evil.status_code == 422 and TOO_LONG in evil.json()["message"], evil.json()
    assert textbook.status_code == 200 and textbook.json() == {"result": "1"}, textbook.json()
    assert set(faultkit.wait_terminal(steady, 60).values()) == {"SUCCESS"}
    assert api.delete(f"/api/v1/executions/{napping}/kill").status_code == 202


def test_a_catastrophic_pattern_in_a_flow_trigger_condition_makes_it_false(cluster: dict[str, Any]) -> None:
    from apps.executions.models import Execution

    faultkit.deploy(UPSTREAM)
    faultkit.deploy(STEADY)
    faultkit.deploy(listener("evil-expression", expression_condition(EVIL)))
    faultkit.deploy(listener("evil-where", where_condition(EVIL)))
    faultkit.deploy(listener("textbook-expression", expression_condition(TEXTBOOK)))
    faultkit.deploy(listener("textbook-where", where_condition("a+-up")))
    cluster["worker"]("redos", 2)
    started = time.monotonic()
    (upstream,) = faultkit.submit(NS, UPSTREAM_ID)
    steady = faultkit.submit(NS, "steady", 4)

    assert faultkit.wait_terminal([upstream], 120)[upstream] == "SUCCESS"
    assert set(faultkit.wait_terminal(steady, 120).values()) == {"SUCCESS"}
    deadline = time.monotonic() + 120
    while Execution.objects.filter(flow_id__startswith="textbook-").count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"\nupstream and listeners done after {time.monotonic() - started:.2f}s")

    heard = dict(Execution.objects.filter(namespace=NS, flow_id__in=[
        "evil-expression", "evil-where", "textbook-expression", "textbook-where"]).values_list("flow_id", "state"))
    assert sorted(heard) == ["textbook-expression", "textbook-where"], heard  # the evil conditions are false
    assert set(faultkit.wait_terminal(list(Execution.objects.filter(flow_id__startswith="textbook-")
                                            .values_list("id", flat=True)), 60).values()) == {"SUCCESS"}


def test_a_killed_sleeping_task_ends_killed_and_frees_its_worker(cluster: dict[str, Any], api: Any) -> None:
    from apps.executions.models import Execution, TaskRun

    faultkit.deploy(NAP)
    faultkit.deploy(STEADY)
    # One pool process: the next execution needs the killed one's slot. A long lease: the kill must
    # reach the task through the worker's cancel polling, not through a lease renewal.
    cluster["worker"]("single", 1, WEIR_LEASE_SECONDS="600")
    (napping,) = faultkit.submit(NS, "nap")
    faultkit.wait_running([napping], "nap", 1, timeout=60)

    killed_at = time.monotonic()
    assert api.delete(f"/api/v1/executions/{napping}/kill").status_code == 202
    (after,) = faultkit.submit(NS, "steady")
    states = faultkit.wait_terminal([after], 60)
    print(f"\nkill -> next execution SUCCESS on the same single-slot worker: {time.monotonic() - killed_at:.2f}s")

    assert states[after] == "SUCCESS"  # the Sleep (120 s) stopped: the only slot took the next task
    run = TaskRun.objects.get(execution_id=napping, task_id="nap")
    assert run.state == "KILLED" and run.attempts[-1]["state"] == "KILLED"
    assert Execution.objects.get(id=napping).state == "KILLED"
