"""Core runnable tasks at run time: state, KV, Resume, log Fetch, Count and the purges.

Each test deploys a real flow and runs it end to end through the engine, the worker and the
`WorkerRunContext`, with Celery in eager mode (tasks run inline, in this thread), then checks
task run states, outputs and the rows the tasks touched.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

NS = "weir.runtime"


@pytest.fixture(autouse=True)
def eager() -> Iterator[None]:
    """Run Celery tasks inline so one call drives a whole execution.

    The compiled-flow cache is keyed by (namespace, flow id, revision), which repeat from one
    test to the next once the database is flushed: clear it so each test runs its own flows.
    """
    from apps.executions.runtime import runner
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    runner.clear_compiled()
    yield
    app.conf.task_always_eager = before
    runner.clear_compiled()


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


class Ran:
    """A finished execution and its task runs, looked up by task id (and loop value)."""

    def __init__(self, execution_id: str) -> None:
        from apps.executions.models import Execution, TaskRun

        self.row = Execution.objects.get(id=execution_id)
        self.state = self.row.state
        self.runs = list(TaskRun.objects.filter(execution_id=execution_id).order_by("seq"))

    def run(self, task_id: str, value: str | None = None) -> Any:
        return next(r for r in self.runs if r.task_id == task_id and (value is None or r.value == value))

    def outputs(self, task_id: str, value: str | None = None) -> dict[str, Any]:
        return dict(self.run(task_id, value).outputs or {})

    def task_state(self, task_id: str, value: str | None = None) -> str:
        return str(self.run(task_id, value).state)

    def logs(self, task_id: str | None = None) -> list[str]:
        from apps.executions.models import LogLine

        lines = LogLine.objects.filter(execution_id=self.row.id).order_by("seq")
        return [line.message for line in lines if task_id is None or line.task_id == task_id]


def deploy(user: Any, source: str) -> tuple[str, str]:
    from apps.flows.services import save_flow

    outcome = save_flow(user, textwrap.dedent(source))
    return outcome.flow.namespace, outcome.flow.flow_id


def execute(user: Any, source: str, inputs: Mapping[str, Any] | None = None,
            until: frozenset[Any] | None = None) -> Ran:
    """Deploy `source`, run one execution of it to the end (or to a state of `until`)."""
    from apps.executions import services
    from apps.executions.runtime import lifecycle

    namespace, flow_id = deploy(user, source)
    row = services.create_execution(namespace, flow_id, inputs=inputs, inputs_mode="raw", start=False)
    lifecycle.start(row.id)
    services.wait(row.id, 20, until=until)
    return Ran(row.id)


def at(**delta: float) -> str:
    """An ISO-8601 instant relative to now, for date properties."""
    return (timezone.now() + timedelta(**delta)).isoformat()


def allow(namespace: str, *callers: str) -> None:
    """Let flows of `callers` reach `namespace` and its children (apps/namespaces/reach.py):
    the admin flows below act on namespaces outside their own."""
    from apps.namespaces.models import Namespace

    Namespace.objects.update_or_create(name=namespace, defaults={"allowed_namespaces": list(callers)})


def kv_rows(namespace: str = NS, scope: str = "kv") -> dict[str, Any]:
    from apps.executions.models import KVEntry

    return {e.key: (e.value, e.kind) for e in KVEntry.objects.filter(namespace=namespace, scope=scope)}


# ---------------------------------------------------------------------------------------------
# KV store


def test_kv_set_get_keys_delete(root: Any) -> None:
    allow("weir.elsewhere", NS)
    ran = execute(root, f"""\
        id: kv_cycle
        namespace: {NS}
        tasks:
          - id: set_text
            type: io.kestra.plugin.core.kv.Set
            key: greeting
            value: "hello {{{{ flow.id }}}}"
          - id: set_number
            type: io.kestra.plugin.core.kv.Set
            key: answer
            value: 42
          - id: set_typed
            type: io.kestra.plugin.core.kv.Set
            key: payload
            value: '{{"a": [1, 2]}}'
            kvType: JSON
          - id: set_other_ns
            type: io.kestra.plugin.core.kv.Set
            namespace: weir.elsewhere
            key: greeting
            value: far
          - id: get
            type: io.kestra.plugin.core.kv.Get
            key: greeting
          - id: get_json
            type: io.kestra.plugin.core.kv.Get
            key: payload
          - id: get_missing
            type: io.kestra.plugin.core.kv.Get
            key: nothing
          - id: keys
            type: io.kestra.plugin.core.kv.GetKeys
          - id: prefixed
            type: io.kestra.plugin.core.kv.GetKeys
            prefix: gree
          - id: delete
            type: io.kestra.plugin.core.kv.Delete
            key: answer
          - id: delete_again
            type: io.kestra.plugin.core.kv.Delete
            key: answer
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("get") == {"value": "hello kv_cycle"}
    assert ran.outputs("get_json") == {"value": {"a": [1, 2]}}
    assert ran.outputs("get_missing") == {"value": None}
    assert ran.outputs("keys") == {"keys": ["answer", "greeting", "payload"]}
    assert ran.outputs("prefixed") == {"keys": ["greeting"]}
    assert ran.outputs("delete") == {"deleted": True}
    assert ran.outputs("delete_again") == {"deleted": False}
    assert kv_rows() == {"greeting": ("hello kv_cycle", "STRING"), "payload": ({"a": [1, 2]}, "JSON")}
    assert kv_rows("weir.elsewhere") == {"greeting": ("far", "STRING")}


@pytest.mark.parametrize(("kv_type", "value", "stored"), [
    ("NUMBER", "'12.5'", (12.5, "NUMBER")),
    ("BOOLEAN", "'TRUE'", (True, "BOOLEAN")),
    ("DATETIME", "'2024-01-31T09:00:00Z'", ("2024-01-31T09:00:00Z", "DATETIME")),
    ("DURATION", "PT1H", ("PT1H", "DURATION")),
    ("STRING", "'12'", ("12", "STRING")),
], ids=["number", "boolean", "datetime", "duration", "string"])
def test_kv_set_converts_to_kv_type(root: Any, kv_type: str, value: str, stored: tuple[Any, str]) -> None:
    ran = execute(root, f"""\
        id: kv_typed
        namespace: {NS}
        tasks:
          - id: set
            type: io.kestra.plugin.core.kv.Set
            key: k
            value: {value}
            kvType: {kv_type}
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert kv_rows()["k"] == stored


def test_kv_set_rejects_a_value_that_is_not_of_its_kv_type(root: Any) -> None:
    ran = execute(root, f"""\
        id: kv_bad_number
        namespace: {NS}
        tasks:
          - id: set
            type: io.kestra.plugin.core.kv.Set
            key: k
            value: twelve
            kvType: NUMBER
        """)
    assert ran.task_state("set") == "FAILED"
    assert any("not a valid NUMBER" in line for line in ran.logs("set"))
    assert kv_rows() == {}


def test_kv_set_without_overwrite_fails_on_an_existing_key(root: Any) -> None:
    ran = execute(root, f"""\
        id: kv_no_overwrite
        namespace: {NS}
        tasks:
          - id: first
            type: io.kestra.plugin.core.kv.Set
            key: once
            value: first
          - id: second
            type: io.kestra.plugin.core.kv.Set
            key: once
            value: second
            overwrite: false
        """)
    assert ran.state == "FAILED"
    assert ran.task_state("second") == "FAILED"
    assert any("Key already exists and `overwrite` is set to `false`" in line for line in ran.logs("second"))
    assert kv_rows()["once"] == ("first", "STRING")


def test_kv_set_without_overwrite_creates_a_missing_key(root: Any) -> None:
    ran = execute(root, f"""\
        id: kv_create_only
        namespace: {NS}
        tasks:
          - id: set
            type: io.kestra.plugin.core.kv.Set
            key: fresh
            value: v
            overwrite: false
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert kv_rows()["fresh"] == ("v", "STRING")


@pytest.mark.parametrize("task", ["Get", "Delete"], ids=["get", "delete"])
def test_kv_error_on_missing_fails_with_the_key_and_namespace(root: Any, task: str) -> None:
    ran = execute(root, f"""\
        id: kv_missing
        namespace: {NS}
        tasks:
          - id: read
            type: io.kestra.plugin.core.kv.{task}
            key: absent
            errorOnMissing: true
        """)
    assert ran.state == "FAILED"
    assert f"No value found for key 'absent' in namespace '{NS}' and `errorOnMissing` is set to true" in ran.logs("read")


def test_kv_ttl_sets_an_expiry_and_expired_keys_are_gone(root: Any) -> None:
    from apps.executions.models import KVEntry

    execute(root, f"""\
        id: kv_ttl
        namespace: {NS}
        tasks:
          - id: set
            type: io.kestra.plugin.core.kv.Set
            key: short
            value: soon-gone
            ttl: PT1H
        """)
    entry = KVEntry.objects.get(namespace=NS, key="short")
    assert entry.expires_at is not None
    assert timedelta(minutes=59) < entry.expires_at - timezone.now() <= timedelta(hours=1)
    KVEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    ran = execute(root, f"""\
        id: kv_ttl_read
        namespace: {NS}
        tasks:
          - id: get
            type: io.kestra.plugin.core.kv.Get
            key: short
          - id: keys
            type: io.kestra.plugin.core.kv.GetKeys
          - id: overwrite_expired
            type: io.kestra.plugin.core.kv.Set
            key: short
            value: again
            overwrite: false
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("get") == {"value": None}
    assert ran.outputs("keys") == {"keys": []}
    assert kv_rows()["short"] == ("again", "STRING")


# ---------------------------------------------------------------------------------------------
# State store

STATE_FLOW = f"""\
    id: state_cycle
    namespace: {NS}
    inputs:
      - id: name
        type: STRING
    tasks:
      - id: state
        type: io.kestra.plugin.core.state.Get
        name: "{{{{ inputs.name }}}}"
      - id: switch
        type: io.kestra.plugin.core.flow.Switch
        value: "{{{{ (outputs.state.data.value ?? 0) == 0 ? 'create' : (outputs.state.data.value == 1 ? 'update' : 'delete') }}}}"
        cases:
          create:
            - id: create
              type: io.kestra.plugin.core.state.Set
              name: "{{{{ inputs.name }}}}"
              data:
                value: 1
            - id: createGet
              type: io.kestra.plugin.core.state.Get
              name: "{{{{ inputs.name }}}}"
          update:
            - id: update
              type: io.kestra.plugin.core.state.Set
              name: "{{{{ inputs.name }}}}"
              data:
                value: "{{{{ outputs.state.data.value + 1 }}}}"
            - id: updateGet
              type: io.kestra.plugin.core.state.Get
              name: "{{{{ inputs.name }}}}"
          delete:
            - id: delete
              type: io.kestra.plugin.core.state.Delete
              name: "{{{{ inputs.name }}}}"
            - id: deleteGet
              type: io.kestra.plugin.core.state.Get
              name: "{{{{ inputs.name }}}}"
    """


def test_state_set_get_delete_across_executions(root: Any) -> None:
    """The conformance `state` flow, three runs: create (the literal 1 stays a number), update
    (a rendered value is text), delete (a later Get finds nothing and does not fail)."""
    first = execute(root, STATE_FLOW, {"name": "counter"})
    assert first.state == "SUCCESS", first.logs()
    assert first.outputs("state") == {"count": 0, "data": {}}
    assert first.outputs("create")["count"] == 1
    assert first.outputs("createGet") == {"count": 1, "data": {"value": 1}}

    second = execute(root, STATE_FLOW, {"name": "counter"})
    assert second.state == "SUCCESS", second.logs()
    assert second.outputs("updateGet") == {"count": 1, "data": {"value": "2"}}

    third = execute(root, STATE_FLOW, {"name": "counter"})
    assert third.state == "SUCCESS", third.logs()
    assert third.outputs("delete") == {"deleted": True}
    assert third.outputs("deleteGet") == {"count": 0, "data": {}}
    assert kv_rows(scope="state") == {}


def test_state_set_merges_into_the_stored_map(root: Any) -> None:
    ran = execute(root, f"""\
        id: state_merge
        namespace: {NS}
        tasks:
          - id: first
            type: io.kestra.plugin.core.state.Set
            name: cursor
            data:
              a: 1
              nested: {{x: 1}}
              items: [1]
          - id: second
            type: io.kestra.plugin.core.state.Set
            name: cursor
            data:
              b: 2
              nested: {{y: 2}}
              items: [2]
          - id: get
            type: io.kestra.plugin.core.state.Get
            name: cursor
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("second") == {"count": 4, "key": ran.outputs("first")["key"]}
    assert ran.outputs("get")["data"] == {"a": 1, "b": 2, "nested": {"x": 1, "y": 2}, "items": [1, 2]}


def test_state_is_per_loop_value_unless_taskrun_value_is_false(root: Any) -> None:
    """The conformance `state` flow's `each` case: per-iteration state gives `null-b`, a shared
    one accumulates `null-a-b`. (`outputs.x[taskrun.value]` reads what `currentEachOutput(outputs.x)`
    does in the conformance flow.)"""
    ran = execute(root, f"""\
        id: state_each
        namespace: {NS}
        tasks:
          - id: each1
            type: io.kestra.plugin.core.flow.ForEach
            values: '["a", "b"]'
            tasks:
              - id: getEach1
                type: io.kestra.plugin.core.state.Get
                name: each
              - id: setEach1
                type: io.kestra.plugin.core.state.Set
                name: each
                data:
                  value: "{{{{ (outputs.getEach1[taskrun.value].data.value ?? 'null') ~ '-' ~ taskrun.value }}}}"
              - id: regetEach1
                type: io.kestra.plugin.core.state.Get
                name: each
          - id: each2
            type: io.kestra.plugin.core.flow.ForEach
            values: '["a", "b"]'
            tasks:
              - id: getEach2
                type: io.kestra.plugin.core.state.Get
                taskrunValue: false
                name: each
              - id: setEach2
                type: io.kestra.plugin.core.state.Set
                name: each
                taskrunValue: false
                data:
                  value: "{{{{ (outputs.getEach2[taskrun.value].data.value ?? 'null') ~ '-' ~ taskrun.value }}}}"
              - id: regetEach2
                type: io.kestra.plugin.core.state.Get
                taskrunValue: false
                name: each
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("regetEach1", "a")["data"] == {"value": "null-a"}
    assert ran.outputs("regetEach1", "b")["data"] == {"value": "null-b"}
    assert ran.outputs("regetEach2", "a")["data"] == {"value": "null-a"}
    assert ran.outputs("regetEach2", "b")["data"] == {"value": "null-a-b"}, [(r.seq, r.task_id, r.value, r.state, r.outputs) for r in ran.runs]


def test_state_namespace_scope_is_shared_between_flows(root: Any) -> None:
    execute(root, f"""\
        id: state_writer
        namespace: {NS}
        tasks:
          - id: own
            type: io.kestra.plugin.core.state.Set
            name: shared
            data: {{scope: flow}}
          - id: shared
            type: io.kestra.plugin.core.state.Set
            name: shared
            namespace: true
            data: {{scope: namespace}}
        """)
    ran = execute(root, f"""\
        id: state_reader
        namespace: {NS}
        tasks:
          - id: flow_scoped
            type: io.kestra.plugin.core.state.Get
            name: shared
          - id: namespace_scoped
            type: io.kestra.plugin.core.state.Get
            name: shared
            namespace: true
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("flow_scoped") == {"count": 0, "data": {}}
    assert ran.outputs("namespace_scoped") == {"count": 1, "data": {"scope": "namespace"}}


@pytest.mark.parametrize("task", ["Get", "Delete"], ids=["get", "delete"])
def test_state_error_on_missing_fails(root: Any, task: str) -> None:
    ran = execute(root, f"""\
        id: state_missing
        namespace: {NS}
        tasks:
          - id: read
            type: io.kestra.plugin.core.state.{task}
            name: nowhere
            errorOnMissing: true
        """)
    assert ran.state == "FAILED"
    assert "State 'nowhere' does not exist and `errorOnMissing` is true" in ran.logs("read")


# ---------------------------------------------------------------------------------------------
# Resume

PAUSED_FLOW = f"""\
    id: waits
    namespace: {NS}
    tasks:
      - id: pause
        type: io.kestra.plugin.core.flow.Pause
      - id: after
        type: io.kestra.plugin.core.debug.Return
        format: resumed
    """

RESUMER_FLOW = f"""\
    id: resume-execution
    namespace: {NS}
    inputs:
      - id: executionId
        type: STRING
    tasks:
      - id: resume
        type: io.kestra.plugin.core.execution.Resume
        executionId: "{{{{ inputs.executionId }}}}"
    """


def test_resume_continues_a_paused_execution(root: Any) -> None:
    from apps.engine.states import State
    from apps.executions import services

    paused = execute(root, PAUSED_FLOW, until=frozenset({State.PAUSED}))
    assert paused.state == "PAUSED"
    resumer = execute(root, RESUMER_FLOW, {"executionId": paused.row.id})
    assert resumer.state == "SUCCESS", resumer.logs()
    done = Ran(services.wait(paused.row.id, 20).id)
    assert done.state == "SUCCESS"
    assert done.task_state("pause") == "SUCCESS"
    assert done.outputs("after") == {"value": "resumed"}


@pytest.mark.parametrize(("target", "message"), [
    ("nope", "No execution found for execution id 'nope'"),
    ("self", "only a PAUSED execution can be resumed"),
], ids=["unknown", "not-paused"])
def test_resume_fails_clearly(root: Any, target: str, message: str) -> None:
    ran = execute(root, RESUMER_FLOW.replace('"{{ inputs.executionId }}"', "'{{ execution.id }}'")
                  if target == "self" else RESUMER_FLOW, {"executionId": target})
    assert ran.state == "FAILED"
    assert any(message in line for line in ran.logs("resume")), ran.logs()


def test_resume_refuses_an_execution_of_another_flow(root: Any) -> None:
    from apps.engine.states import State

    paused = execute(root, PAUSED_FLOW, until=frozenset({State.PAUSED}))
    ran = execute(root, f"""\
        id: wrong_flow
        namespace: {NS}
        tasks:
          - id: resume
            type: io.kestra.plugin.core.execution.Resume
            executionId: {paused.row.id}
            namespace: {NS}
            flowId: other
        """)
    assert ran.state == "FAILED"
    assert any(f"belongs to the flow '{NS}.waits'" in line for line in ran.logs("resume"))
    assert Ran(paused.row.id).state == "PAUSED"


# ---------------------------------------------------------------------------------------------
# Logs

LOG_FLOW = f"""\
    id: get-log
    namespace: {NS}
    tasks:
      - id: task-1
        type: io.kestra.plugin.core.log.Log
        message: task 1
      - id: task-2
        type: io.kestra.plugin.core.log.Log
        message: task 2
        level: WARN
      - id: quiet
        type: io.kestra.plugin.core.log.Log
        message: debug only
        level: DEBUG
      - id: all
        type: io.kestra.plugin.core.log.Fetch
      - id: one_task
        type: io.kestra.plugin.core.log.Fetch
        tasksId:
          - task-1
      - id: warnings
        type: io.kestra.plugin.core.log.Fetch
        level: WARN
        executionId: "{{{{ execution.id }}}}"
    """


def fetched(ran: Ran, task_id: str) -> list[dict[str, Any]]:
    from apps.executions.runtime.runcontext import read_file

    data = read_file(ran.outputs(task_id)["uri"]).decode("utf-8")
    return [json.loads(line) for line in data.splitlines()]


def test_log_fetch_writes_the_execution_logs_to_a_file(root: Any) -> None:
    ran = execute(root, LOG_FLOW)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("all")["size"] == 2
    assert ran.outputs("all")["uri"].startswith("kestra:///")
    entries = fetched(ran, "all")
    assert [(e["taskId"], e["level"], e["message"]) for e in entries] == [
        ("task-1", "INFO", "task 1"), ("task-2", "WARN", "task 2")]
    assert {(e["namespace"], e["flowId"], e["executionId"]) for e in entries} == {(NS, "get-log", ran.row.id)}
    assert [e["message"] for e in fetched(ran, "one_task")] == ["task 1"]
    assert ran.outputs("warnings")["size"] == 1
    assert [e["message"] for e in fetched(ran, "warnings")] == ["task 2"]


def test_log_fetch_reads_another_execution(root: Any) -> None:
    source = execute(root, LOG_FLOW)
    ran = execute(root, f"""\
        id: fetch_other
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.log.Fetch
            executionId: {source.row.id}
            namespace: {NS}
            flowId: get-log
            level: TRACE
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert [e["message"] for e in fetched(ran, "fetch")] == ["task 1", "task 2", "debug only"]


def test_purge_logs_deletes_by_namespace_flow_and_level(root: Any) -> None:
    from apps.executions.models import LogLine

    allow("weir", "ops")
    source = execute(root, LOG_FLOW)
    other = execute(root, """\
        id: elsewhere
        namespace: weirdo
        tasks:
          - id: hello
            type: io.kestra.plugin.core.log.Log
            message: keep me
        """)
    ran = execute(root, f"""\
        id: purge_logs
        namespace: ops
        tasks:
          - id: purge_debug
            type: io.kestra.plugin.core.log.PurgeLogs
            namespace: {NS}
            flowId: get-log
            logLevels: [DEBUG]
            endDate: "{at()}"
          - id: purge_none
            type: io.kestra.plugin.core.log.PurgeLogs
            endDate: "{at(days=-1)}"
          - id: exact_with_flow
            type: io.kestra.plugin.core.log.PurgeLogs
            namespace: weir
            flowId: get-log
            endDate: "{at()}"
          - id: purge_tree
            type: io.kestra.plugin.core.log.PurgeLogs
            namespace: weir
            endDate: "{at()}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("purge_debug") == {"count": 1}
    assert ran.outputs("purge_none") == {"count": 0}
    assert ran.outputs("exact_with_flow") == {"count": 0}
    assert ran.outputs("purge_tree") == {"count": 2}
    assert not LogLine.objects.filter(execution_id=source.row.id).exists()
    assert other.logs() == ["keep me"], "`weir` is a namespace prefix, not a string prefix"


# ---------------------------------------------------------------------------------------------
# Count and PurgeExecutions

HELLO = """\
    id: {flow_id}
    namespace: {namespace}
    tasks:
      - id: hello
        type: io.kestra.plugin.core.log.Log
        message: hello
    """


def test_count_keeps_the_flows_whose_count_passes_the_expression(root: Any) -> None:
    allow("weir", "weir.admin")
    for _ in range(3):
        execute(root, HELLO.format(flow_id="busy", namespace=NS))
    execute(root, HELLO.format(flow_id="once", namespace=f"{NS}.child"))
    deploy(root, HELLO.format(flow_id="idle", namespace=NS))
    ran = execute(root, f"""\
        id: count
        namespace: weir.admin
        tasks:
          - id: by_flow
            type: io.kestra.plugin.core.execution.Count
            flows:
              - namespace: {NS}
                flowId: busy
              - namespace: {NS}
                flowId: idle
            startDate: "{at(hours=-1)}"
            expression: "{{{{ count >= 0 }}}}"
          - id: never_ran
            type: io.kestra.plugin.core.execution.Count
            flows:
              - namespace: {NS}
                flowId: idle
              - namespace: {NS}
                flowId: busy
            startDate: "{at(hours=-1)}"
            expression: "{{{{ count == 0 }}}}"
          - id: by_namespace
            type: io.kestra.plugin.core.execution.Count
            namespaces: [{NS}]
            states: [SUCCESS]
            startDate: "{at(hours=-1)}"
            expression: "{{{{ count > 0 and flow.id == 'count' }}}}"
          - id: too_early
            type: io.kestra.plugin.core.execution.Count
            namespaces: [{NS}]
            startDate: "{at(hours=-2)}"
            endDate: "{at(hours=-1)}"
            expression: "{{{{ true }}}}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("by_flow") == {"results": [
        {"namespace": NS, "flowId": "busy", "count": 3}, {"namespace": NS, "flowId": "idle", "count": 0}],
        "total": 3}
    assert ran.outputs("never_ran") == {"results": [{"namespace": NS, "flowId": "idle", "count": 0}], "total": 0}
    assert ran.outputs("by_namespace") == {"results": [
        {"namespace": NS, "flowId": "busy", "count": 3}, {"namespace": f"{NS}.child", "flowId": "once", "count": 1}],
        "total": 4}
    assert ran.outputs("too_early") == {"results": [{"namespace": NS, "flowId": None, "count": 0}], "total": 0}


def test_purge_executions_deletes_ended_executions_and_what_they_own(root: Any) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    from apps.executions.models import Execution, LogLine
    from apps.executions.runtime.hostops import execution_storage_prefix

    allow("weir", "weir.admin")
    old = [execute(root, HELLO.format(flow_id="old", namespace=NS)) for _ in range(2)]
    kept = execute(root, HELLO.format(flow_id="other", namespace="weir.kept"))
    storages["default"].save(f"{execution_storage_prefix(old[0].row)}/tasks/hello/x/out.txt", ContentFile(b"x"))
    ran = execute(root, f"""\
        id: purge
        namespace: weir.admin
        tasks:
          - id: failed_only
            type: io.kestra.plugin.core.execution.PurgeExecutions
            namespace: {NS}
            states: [FAILED]
            endDate: "{at()}"
          - id: too_recent
            type: io.kestra.plugin.core.execution.PurgeExecutions
            namespace: weir
            endDate: "{at(days=-1)}"
          - id: other_namespace
            type: io.kestra.plugin.core.execution.PurgeExecutions
            namespace: weir
            flowId: old
            endDate: "{at()}"
          - id: purge
            type: io.kestra.plugin.core.execution.PurgeExecutions
            namespace: {NS}
            flowId: old
            endDate: "{at()}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    nothing = {"executionsCount": 0, "logsCount": 0, "metricsCount": 0, "storagesCount": 0}
    assert ran.outputs("failed_only") == nothing
    assert ran.outputs("too_recent") == nothing
    assert ran.outputs("other_namespace") == nothing, "with a flowId, the namespace is exact"
    assert ran.outputs("purge") == {"executionsCount": 2, "logsCount": 2, "metricsCount": 0, "storagesCount": 1}
    assert not Execution.objects.filter(id__in=[r.row.id for r in old]).exists()
    assert Execution.objects.filter(id=kept.row.id).exists()
    assert LogLine.objects.filter(execution_id=kept.row.id).count() == 1
    assert not storages["default"].exists(f"{execution_storage_prefix(old[0].row)}/tasks/hello/x/out.txt")


def test_purge_executions_keeps_logs_when_asked(root: Any) -> None:
    from apps.executions.models import Execution, LogLine

    allow("weir", "weir.admin")
    old = execute(root, HELLO.format(flow_id="old", namespace=NS))
    ran = execute(root, f"""\
        id: purge_keep_logs
        namespace: weir.admin
        tasks:
          - id: purge
            type: io.kestra.plugin.core.execution.PurgeExecutions
            namespace: weir
            purgeLog: false
            endDate: "{at()}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert ran.outputs("purge")["executionsCount"] == 1
    assert ran.outputs("purge")["logsCount"] == 0
    assert Execution.objects.get(id=old.row.id).deleted is True
    assert LogLine.objects.filter(execution_id=old.row.id).count() == 1
