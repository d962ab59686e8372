"""Issue 11's attacks, replayed: alice owns `acme.alpha`, bob owns `betaco`, and alice has
nothing but flows of her own. Each attack must fail with the rule's message and leave bob's
namespace untouched; the control cases show the same flow succeeding once bob allows it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.executions import services as ex_services
from apps.executions.models import Execution, LogLine, TaskRun
from apps.executions.records import kvstore
from apps.executions.runtime import lifecycle
from apps.flows import services as flows
from apps.namespaces import reach
from apps.namespaces import services as namespaces
from apps.namespaces.models import Binding, Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BOB_FLOW = """id: payroll
namespace: betaco
inputs:
  - id: doc
    type: FILE
tasks:
  - id: note
    type: io.kestra.plugin.core.log.Log
    message: salary of the CEO is 1000000
  - id: store
    type: io.kestra.plugin.core.kv.Set
    key: token
    value: bob-token
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: confidential-output
"""
BOB_PAUSED = """id: approval
namespace: betaco
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: approved
"""


@pytest.fixture
def people(make_user: Any) -> Iterator[dict[str, Any]]:
    from config.celery import app

    app.conf.task_always_eager = True
    reach.forget()
    root = make_user("root", is_superuser=True, is_staff=True)
    alice, bob = make_user("alice"), make_user("bob")
    Binding.objects.create(user=alice, namespace="acme.alpha", role=Role.OWNER)
    Binding.objects.create(user=bob, namespace="betaco", role=Role.OWNER)
    namespaces.create(root, "acme.alpha")
    namespaces.create(root, "betaco")
    flows.create_flow(bob, BOB_FLOW)
    flows.create_flow(bob, BOB_PAUSED)
    yield {"root": root, "alice": alice, "bob": bob,
           "payroll": run("betaco", "payroll", {"doc": b"bob's private file\n"}),
           "approval": run("betaco", "approval")}
    app.conf.task_always_eager = False
    reach.forget()


def run(namespace: str, flow_id: str, inputs: dict[str, Any] | None = None) -> Execution:
    row = ex_services.create_execution(namespace, flow_id, inputs=inputs or {}, start=False)
    lifecycle.start(row.id)
    row.refresh_from_db()
    return row


def alice_runs(people: dict[str, Any], tasks: str, flow_id: str = "attack") -> Execution:
    flows.create_flow(people["alice"], f"id: {flow_id}\nnamespace: acme.alpha\ntasks:\n{tasks}")
    return run("acme.alpha", flow_id)


def errors(row: Execution) -> str:
    return " | ".join(LogLine.objects.filter(execution_id=row.id, level="ERROR").values_list("message", flat=True))


def assert_denied(row: Execution, *words: str) -> None:
    assert row.state == "FAILED", (row.state, errors(row))
    message = errors(row)
    for word in ("'acme.alpha'", "'betaco'", *words):
        assert word in message, message


def test_a_flow_trigger_naming_another_namespace_hears_nothing_of_it(people: dict[str, Any]) -> None:
    flows.create_flow(people["alice"], """id: spy
namespace: acme.alpha
inputs:
  - id: stolen
    type: STRING
    required: false
tasks:
  - id: keep
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.stolen }}"
triggers:
  - id: listen
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      stolen: "{{ trigger.executionId }} {{ trigger.flowId }}"
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: betaco
""")
    run("betaco", "payroll", {"doc": b"x"})
    assert not Execution.objects.filter(namespace="acme.alpha", flow_id="spy").exists()

    namespaces.update(people["root"], "betaco", {"allowedNamespaces": ["acme.alpha"]})
    heard = run("betaco", "payroll", {"doc": b"x"})
    assert Execution.objects.get(namespace="acme.alpha", flow_id="spy").trigger["variables"]["executionId"] == heard.id


def test_logs_files_and_kv_of_another_namespace_stay_out_of_reach(people: dict[str, Any]) -> None:
    payroll: Execution = people["payroll"]
    fetch = alice_runs(people, f"""  - id: fetch
    type: io.kestra.plugin.core.log.Fetch
    executionId: {payroll.id}
""", "fetch")
    assert_denied(fetch, "allowedNamespaces")
    assert "1000000" not in errors(fetch)

    read = alice_runs(people, f"""  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read('{payroll.inputs['doc']}') }}}}"
""", "read")
    assert_denied(read, "read the file")
    assert not TaskRun.objects.filter(execution_id=read.id, task_id="read", state="SUCCESS").exists()

    get = alice_runs(people, """  - id: get
    type: io.kestra.plugin.core.kv.Get
    namespace: betaco
    key: token
""", "get")
    assert_denied(get, "read KV of 'betaco'")
    function = alice_runs(people, """  - id: get
    type: io.kestra.plugin.core.debug.Return
    format: "{{ kv('token', namespace='betaco') }}"
""", "function")
    assert_denied(function, "read KV of 'betaco'")
    overwrite = alice_runs(people, """  - id: put
    type: io.kestra.plugin.core.kv.Set
    namespace: betaco
    key: token
    value: alice-was-here
""", "overwrite")
    assert_denied(overwrite, "write KV of 'betaco'")
    assert kvstore.get("betaco", "token") == (True, "bob-token")


def test_resume_count_and_purge_in_another_namespace_fail_and_change_nothing(people: dict[str, Any]) -> None:
    approval: Execution = people["approval"]
    payroll: Execution = people["payroll"]
    resume = alice_runs(people, f"""  - id: resume
    type: io.kestra.plugin.core.execution.Resume
    executionId: {approval.id}
""", "resume")
    assert_denied(resume, "resume execution")
    assert Execution.objects.get(id=approval.id).state == "PAUSED"

    count = alice_runs(people, """  - id: count
    type: io.kestra.plugin.core.execution.Count
    namespaces: [betaco]
    startDate: "2000-01-01T00:00:00Z"
    expression: "{{ count >= 0 }}"
""", "count")
    assert_denied(count, "count the executions of 'betaco'")

    logs_before = LogLine.objects.filter(execution_id=payroll.id).count()
    purge = alice_runs(people, """  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
    namespace: betaco
    endDate: "{{ now() }}"
    purgeLog: true
""", "purge")
    assert_denied(purge, "purge the executions of 'betaco'")
    assert Execution.objects.filter(id=payroll.id).exists()
    assert LogLine.objects.filter(execution_id=payroll.id).count() == logs_before


def test_a_purge_without_namespace_stays_in_the_flows_own_tree(people: dict[str, Any]) -> None:
    payroll: Execution = people["payroll"]
    old = alice_runs(people, """  - id: hi
    type: io.kestra.plugin.core.debug.Return
    format: hi
""", "old")
    purge = alice_runs(people, """  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
    endDate: "{{ now() }}"
    purgeLog: true
  - id: logs
    type: io.kestra.plugin.core.log.PurgeLogs
    endDate: "{{ now() }}"
""", "purge_all")
    assert purge.state == "SUCCESS", errors(purge)
    assert not Execution.objects.filter(id=old.id).exists()
    assert Execution.objects.filter(id=payroll.id).exists()
    assert LogLine.objects.filter(execution_id=payroll.id).exists()


def test_a_subflow_in_the_same_tree_needs_consent_and_the_authors_role(people: dict[str, Any]) -> None:
    flows.create_flow(people["root"], """id: target
namespace: acme.beta
tasks:
  - id: hi
    type: io.kestra.plugin.core.debug.Return
    format: ran
""")
    call = """  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: acme.beta
    flowId: target
"""
    denied = alice_runs(people, call, "caller")
    assert denied.state == "FAILED"
    assert "does not list 'acme.alpha' in allowedNamespaces" in errors(denied), errors(denied)

    namespaces.update(people["root"], "acme.beta", {"allowedNamespaces": ["acme.alpha"]})
    still = run("acme.alpha", "caller")
    assert still.state == "FAILED"
    assert "saved by user 'alice', who lacks EXECUTE on 'acme.beta'" in errors(still), errors(still)
    assert not Execution.objects.filter(namespace="acme.beta").exists()

    Binding.objects.create(user=people["alice"], namespace="acme.beta", role=Role.EXECUTE)
    assert run("acme.alpha", "caller").state == "SUCCESS"
    assert Execution.objects.get(namespace="acme.beta").state == "SUCCESS"


def test_an_old_revision_runs_with_its_own_authors_roles_too(people: dict[str, Any], make_user: Any) -> None:
    """Mallory may edit acme.alpha's flows but holds nothing in betaco; alice holds EXECUTE
    there. Running mallory's revision after alice saved a later one must not borrow alice's role."""
    mallory = make_user("mallory")
    Binding.objects.create(user=mallory, namespace="acme.alpha", role=Role.WRITE)
    Binding.objects.create(user=people["alice"], namespace="betaco", role=Role.EXECUTE)
    namespaces.update(people["root"], "betaco", {"allowedNamespaces": ["acme.alpha"]})
    source = """id: caller
namespace: acme.alpha
description: {note}
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: betaco
    flowId: approval
    wait: false
"""
    flows.create_flow(mallory, source.format(note="first"))
    flows.update_flow(people["alice"], "acme.alpha", "caller", source.format(note="second"))
    before = Execution.objects.filter(namespace="betaco", flow_id="approval").count()

    old = ex_services.create_execution("acme.alpha", "caller", revision=1, start=False)
    lifecycle.start(old.id)
    old.refresh_from_db()

    assert old.state == "FAILED"
    assert "saved by user 'mallory', who lacks EXECUTE on 'betaco'" in errors(old), errors(old)
    assert Execution.objects.filter(namespace="betaco", flow_id="approval").count() == before
    assert run("acme.alpha", "caller").state == "SUCCESS"
    assert Execution.objects.filter(namespace="betaco", flow_id="approval").count() == before + 1


def test_a_subflow_reads_the_files_its_parent_hands_it_and_no_others(people: dict[str, Any]) -> None:
    """bob admits acme.alpha's calls into betaco; his `reader` reads the file it is given. The
    file alice's execution passes down is readable there (its parent chose the call); the same
    file is out of reach of a betaco execution that alice's did not start."""
    Binding.objects.create(user=people["alice"], namespace="betaco", role=Role.EXECUTE)
    namespaces.update(people["root"], "betaco", {"allowedNamespaces": ["acme.alpha"]})
    flows.create_flow(people["bob"], """id: reader
namespace: betaco
inputs:
  - id: f
    type: STRING
tasks:
  - id: r
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.f) }}"
""")
    flows.create_flow(people["alice"], """id: handover
namespace: acme.alpha
inputs:
  - id: doc
    type: FILE
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: betaco
    flowId: reader
    inputs:
      f: "{{ inputs.doc }}"
""")
    parent = run("acme.alpha", "handover", {"doc": b"alice's note"})
    assert parent.state == "SUCCESS", errors(parent)
    child = Execution.objects.get(namespace="betaco", flow_id="reader")
    assert TaskRun.objects.get(execution_id=child.id, task_id="r").outputs == {"value": "alice's note"}

    alone = run("betaco", "reader", {"f": parent.inputs["doc"]})
    assert alone.state == "FAILED"
    assert "may not read the file" in errors(alone) and "'acme.alpha'" in errors(alone), errors(alone)


@pytest.mark.parametrize(("role", "status"), [("READ", 403), ("EXECUTE", 403), ("WRITE", 200)])
def test_eval_needs_write_on_the_namespace(people: dict[str, Any], make_user: Any, role: str, status: int) -> None:
    from rest_framework.test import APIClient

    payroll: Execution = people["payroll"]
    user = make_user("carol")
    Binding.objects.create(user=user, namespace="betaco", role=Role[role])
    task_run = TaskRun.objects.filter(execution_id=payroll.id, task_id="out").values_list("id", flat=True).get()
    client = APIClient()
    client.force_authenticate(user)
    reply = client.post(f"/api/v1/executions/{payroll.id}/eval/{task_run}", "{{ 1 + 1 }}", content_type="text/plain")
    assert reply.status_code == status, reply.content
    if status == 200:
        assert reply.json() == {"result": "2"}
