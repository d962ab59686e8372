"""The isolation matrix (ADR 0010): every place a running flow crosses into another namespace,
against every relation of the target to the flow's namespace, each case a real execution on the
real engine (PostgreSQL, Celery eager), its outcome compared with `reach.TABLE`.

The caller flows live in `acme.prod` and were saved by `alice` (OWNER on `acme.prod`, WRITE on
`acme.ops` and on `partner`, nothing elsewhere). The targets cover each relation; `partner`
and `partner2` list `acme.prod` in allowedNamespaces, and alice holds a role only on the first,
which separates "listed" from "listed, and the author holds the role". Her WRITE on the sibling
`acme.ops`, which lists nobody, shows that a user's role alone lends a flow nothing.

One set of namespaces, flows and seed executions serves the whole module (built once, flushed
at the end). A denied case must fail its task with the rule's message, and leave the target
untouched (KV values, paused executions, logs, executions, no child started).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from apps.namespaces import reach

CALLER = "acme.prod"


@dataclass(frozen=True)
class Column:
    label: str
    relation: reach.Relation
    target: str
    listed: bool = False
    """The target lists the caller (or an ancestor of it) in allowedNamespaces."""
    author_role: bool = False
    """The caller flow's last author holds EXECUTE and WRITE on the target."""


Rel = reach.Relation
COLUMNS = [
    Column("own", Rel.OWN, "acme.prod", author_role=True),
    Column("child", Rel.CHILD, "acme.prod.x", author_role=True),
    Column("parent", Rel.PARENT, "acme"),
    Column("sibling", Rel.SIBLING, "acme.ops", author_role=True),
    Column("other-tree", Rel.OTHER_TREE, "betaco"),
    Column("look-alike", Rel.LOOK_ALIKE, "acme.prodx"),
    Column("look-alike-shorter", Rel.LOOK_ALIKE, "acme.pro"),
    Column("allowed", Rel.OTHER_TREE, "partner", listed=True, author_role=True),
    Column("allowed-ancestor-listed-author-without-role", Rel.OTHER_TREE, "partner2", listed=True),
]
TARGETS = [c.target for c in COLUMNS]


def expected(column: Column, access: reach.Access) -> bool:
    """What the TABLE says for this column and kind of access."""
    outcome = reach.TABLE[reach.relation(CALLER, column.target)][access]
    if outcome == reach.Outcome.ALLOW:
        return True
    if outcome == reach.Outcome.LISTED:
        return column.listed
    return column.listed and column.author_role


# ---------------------------------------------------------------------------------------------
# The world: namespaces, flows and seed executions, once per module


def flow(flow_id: str, namespace: str, body: str) -> str:
    return f"id: {flow_id}\nnamespace: {namespace}\n{body}"


SEED = """inputs:
  - id: data
    type: FILE
tasks:
  - id: note
    type: io.kestra.plugin.core.log.Log
    message: "log-of-{{ flow.namespace }}"
  - id: k
    type: io.kestra.plugin.core.kv.Set
    key: k
    value: "kv-of-{{ flow.namespace }}"
  - id: w
    type: io.kestra.plugin.core.kv.Set
    key: w
    value: "orig-of-{{ flow.namespace }}"
  - id: d
    type: io.kestra.plugin.core.kv.Set
    key: d
    value: "del-of-{{ flow.namespace }}"
"""
WAITING = """tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
"""
RETURN = """tasks:
  - id: r
    type: io.kestra.plugin.core.debug.Return
    format: "{{ flow.id }}-of-{{ flow.namespace }}"
"""
CHATTY = """tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "chatty-of-{{ flow.namespace }}"
"""


def caller_flow(flow_id: str, task: str, inputs: tuple[str, ...] = ("ns",)) -> str:
    declared = "".join(f"  - id: {name}\n    type: {'FILE' if name == 'items' else 'STRING'}\n"
                       for name in inputs)
    return flow(flow_id, CALLER, f"inputs:\n{declared}tasks:\n  - id: t\n{task}")


CALLERS: dict[str, str] = {
    "kv_get": caller_flow("kv_get", """    type: io.kestra.plugin.core.kv.Get
    namespace: "{{ inputs.ns }}"
    key: k
"""),
    "kv_keys": caller_flow("kv_keys", """    type: io.kestra.plugin.core.kv.GetKeys
    namespace: "{{ inputs.ns }}"
"""),
    "kv_fn": caller_flow("kv_fn", """    type: io.kestra.plugin.core.debug.Return
    format: "{{ kv('k', namespace=inputs.ns) }}"
"""),
    "nsf_download": caller_flow("nsf_download", """    type: io.kestra.plugin.core.namespace.DownloadFiles
    namespace: "{{ inputs.ns }}"
    files: ["shared/data.txt"]
"""),
    "nsf_upload": caller_flow("nsf_upload", """    type: io.kestra.plugin.core.namespace.UploadFiles
    namespace: "{{ inputs.ns }}"
    filesMap:
      up/x.txt: "{{ inputs.items }}"
""", inputs=("ns", "items")),
    "nsf_delete": caller_flow("nsf_delete", """    type: io.kestra.plugin.core.namespace.DeleteFiles
    namespace: "{{ inputs.ns }}"
    files: ["shared/del.txt"]
"""),
    "kv_set": caller_flow("kv_set", """    type: io.kestra.plugin.core.kv.Set
    namespace: "{{ inputs.ns }}"
    key: w
    value: overwritten
"""),
    "kv_delete": caller_flow("kv_delete", """    type: io.kestra.plugin.core.kv.Delete
    namespace: "{{ inputs.ns }}"
    key: d
"""),
    "read_fn": caller_flow("read_fn", """    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.uri) }}"
""", ("uri",)),
    "file_size_fn": caller_flow("file_size_fn", """    type: io.kestra.plugin.core.debug.Return
    format: "{{ fileSize(inputs.uri) }}"
""", ("uri",)),
    "log_fetch": caller_flow("log_fetch", """    type: io.kestra.plugin.core.log.Fetch
    executionId: "{{ inputs.exec }}"
""", ("exec",)),
    "count": caller_flow("count", """    type: io.kestra.plugin.core.execution.Count
    namespaces:
      - "{{ inputs.ns }}"
    startDate: "2000-01-01T00:00:00Z"
    expression: "{{ count >= 0 }}"
"""),
    "resume": caller_flow("resume", """    type: io.kestra.plugin.core.execution.Resume
    executionId: "{{ inputs.exec }}"
""", ("exec",)),
    "purge_executions": caller_flow("purge_executions", """    type: io.kestra.plugin.core.execution.PurgeExecutions
    namespace: "{{ inputs.ns }}"
    flowId: victim
    endDate: "{{ now() }}"
    purgeLog: true
"""),
    "purge_logs": caller_flow("purge_logs", """    type: io.kestra.plugin.core.log.PurgeLogs
    namespace: "{{ inputs.ns }}"
    flowId: chatty
    endDate: "{{ now() }}"
"""),
    "subflow": caller_flow("subflow", """    type: io.kestra.plugin.core.flow.Subflow
    namespace: "{{ inputs.ns }}"
    flowId: child
    wait: true
"""),
    "for_each_item": caller_flow("for_each_item", """    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.items }}"
    batch:
      rows: 1
    namespace: "{{ inputs.ns }}"
    flowId: child
    wait: true
    inputs:
      n: "{{ taskrun.iteration }}"
""", ("ns", "items")),
    "for_each_item_file": caller_flow("for_each_item_file", """    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.uri }}"
    batch:
      rows: 1
    namespace: acme.prod
    flowId: sink
    wait: true
    inputs:
      n: "{{ taskrun.iteration }}"
""", ("uri",)),
}


def listener(index: int, target: str) -> str:
    return flow(f"listen{index}", CALLER, f"""tasks:
  - id: heard
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.executionId }}}}"
triggers:
  - id: on_ping
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: {target}
        flowId: ping
""")


@dataclass
class World:
    seeds: dict[str, Any] = field(default_factory=dict)
    """target namespace → its seed execution row"""
    files: dict[str, str] = field(default_factory=dict)
    """target namespace → URI of its seed's file"""
    paused: dict[str, str] = field(default_factory=dict)
    victims: dict[str, str] = field(default_factory=dict)
    chatty: dict[str, str] = field(default_factory=dict)
    alice: Any = None


def run(namespace: str, flow_id: str, inputs: dict[str, Any] | None = None) -> Any:
    from apps.executions import services as ex_services
    from apps.executions.runtime import lifecycle

    row = ex_services.create_execution(namespace, flow_id, inputs=inputs or {}, start=False)
    lifecycle.start(row.id)
    row.refresh_from_db()
    return row


def build() -> World:
    from django.contrib.auth import get_user_model

    from apps.files import store
    from apps.flows import services as flows
    from apps.namespaces import services as namespaces
    from apps.namespaces.models import Binding, Role

    users = get_user_model()
    root = users.objects.create_superuser("root", "root@example.com", "pw-root")
    alice = users.objects.create_user("alice", password="pw-alice")
    Binding.objects.create(user=alice, namespace="acme.prod", role=Role.OWNER)
    Binding.objects.create(user=alice, namespace="acme.ops", role=Role.WRITE)
    Binding.objects.create(user=alice, namespace="partner", role=Role.WRITE)
    namespaces.create(root, "partner", {"allowedNamespaces": ["acme.prod"]})
    namespaces.create(root, "partner2", {"allowedNamespaces": ["acme"]})
    world = World(alice=alice)
    for target in TARGETS:
        for flow_id, body in (("seed", SEED), ("waiting", WAITING), ("victim", RETURN), ("chatty", CHATTY),
                              ("child", RETURN.replace("tasks:", "inputs:\n  - id: n\n    type: STRING\n"
                                                                 "    required: false\ntasks:")),
                              ("ping", RETURN)):
            flows.create_flow(root, flow(flow_id, target, body))
    flows.create_flow(root, flow("sink", CALLER, "inputs:\n  - id: n\n    type: STRING\n" + RETURN))
    for source in CALLERS.values():
        flows.create_flow(alice, source)
    for index, target in enumerate(TARGETS):
        flows.create_flow(alice, listener(index, target))
    for target in TARGETS:
        seed = run(target, "seed", {"data": f"file-of-{target}\n".encode()})
        assert seed.state == "SUCCESS", (target, seed.state)
        world.seeds[target] = seed
        world.files[target] = seed.inputs["data"]
        store.write(target, "shared/data.txt", f"nsfile-of-{target}".encode())
        store.write(target, "shared/del.txt", b"delete me")
        world.paused[target] = run(target, "waiting").id
        world.victims[target] = run(target, "victim").id
        world.chatty[target] = run(target, "chatty").id
    return world


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """Built once with real commits (no test transaction: on_commit hooks run, as in production),
    and flushed afterwards like a transactional test's database."""
    from django.core.management import call_command

    from config.celery import app

    with django_db_blocker.unblock():
        before = app.conf.task_always_eager
        app.conf.task_always_eager = True
        reach.forget()
        try:
            yield build()
        finally:
            app.conf.task_always_eager = before
            reach.forget()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def _django_db_helper(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's per-test wrapper, replaced for this module: the `django_db` mark makes the
    session create the test database, and the cases run with real commits on the module's world
    (a test transaction would keep on_commit hooks, and so the engine, from running)."""
    with django_db_blocker.unblock():
        yield


# ---------------------------------------------------------------------------------------------
# The crossings: each runs one caller execution against one column and reports what happened


@dataclass
class Seen:
    allowed: bool
    message: str = ""
    """The task's ERROR log when it failed (the denial's message)."""


def _outcome(row: Any) -> Seen:
    from apps.executions.models import LogLine

    errors = " | ".join(LogLine.objects.filter(execution_id=row.id, level="ERROR").values_list("message", flat=True))
    return Seen(row.state == "SUCCESS", errors)


def _output(row: Any) -> Any:
    from apps.executions.models import TaskRun

    return TaskRun.objects.filter(execution_id=row.id, task_id="t").values_list("outputs", flat=True).first()


def _kv(namespace: str, key: str) -> Any:
    from apps.executions.records import kvstore

    return kvstore.get(namespace, key)


def kv_get(world: World, c: Column) -> Seen:
    row = run(CALLER, "kv_get", {"ns": c.target})
    seen = _outcome(row)
    if seen.allowed:
        assert _output(row)["value"] == f"kv-of-{c.target}"
    return seen


def kv_keys(world: World, c: Column) -> Seen:
    row = run(CALLER, "kv_keys", {"ns": c.target})
    seen = _outcome(row)
    if seen.allowed:
        assert "k" in _output(row)["keys"]
    return seen


def kv_fn(world: World, c: Column) -> Seen:
    row = run(CALLER, "kv_fn", {"ns": c.target})
    seen = _outcome(row)
    if seen.allowed:
        assert _output(row)["value"] == f"kv-of-{c.target}"
    return seen


def kv_set(world: World, c: Column) -> Seen:
    seen = _outcome(run(CALLER, "kv_set", {"ns": c.target}))
    assert _kv(c.target, "w") == (True, "overwritten" if seen.allowed else f"orig-of-{c.target}")
    return seen


def kv_delete(world: World, c: Column) -> Seen:
    seen = _outcome(run(CALLER, "kv_delete", {"ns": c.target}))
    assert _kv(c.target, "d") == ((False, None) if seen.allowed else (True, f"del-of-{c.target}"))
    return seen


def nsf_download(world: World, c: Column) -> Seen:
    row = run(CALLER, "nsf_download", {"ns": c.target})
    seen = _outcome(row)
    if seen.allowed:
        assert list(_output(row)["files"]) == ["/shared/data.txt"]
    else:
        assert not _output(row)
    return seen


def nsf_upload(world: World, c: Column) -> Seen:
    from apps.files import store

    seen = _outcome(run(CALLER, "nsf_upload", {"ns": c.target, "items": b"uploaded"}))
    assert (store.find(c.target, "up/x.txt") is not None) == seen.allowed
    return seen


def nsf_delete(world: World, c: Column) -> Seen:
    from apps.files import store

    seen = _outcome(run(CALLER, "nsf_delete", {"ns": c.target}))
    assert (store.find(c.target, "shared/del.txt") is None) == seen.allowed
    return seen


def read_fn(world: World, c: Column) -> Seen:
    row = run(CALLER, "read_fn", {"uri": world.files[c.target]})
    seen = _outcome(row)
    if seen.allowed:
        assert _output(row)["value"] == f"file-of-{c.target}\n"
    return seen


def file_size_fn(world: World, c: Column) -> Seen:
    row = run(CALLER, "file_size_fn", {"uri": world.files[c.target]})
    seen = _outcome(row)
    if seen.allowed:
        assert str(_output(row)["value"]) == str(len(f"file-of-{c.target}\n"))
    return seen


def log_fetch(world: World, c: Column) -> Seen:
    row = run(CALLER, "log_fetch", {"exec": world.seeds[c.target].id})
    seen = _outcome(row)
    if seen.allowed:
        assert _output(row)["size"] >= 1
    return seen


def count(world: World, c: Column) -> Seen:
    row = run(CALLER, "count", {"ns": c.target})
    seen = _outcome(row)
    if seen.allowed:
        assert _output(row)["total"] >= 1
    return seen


def resume(world: World, c: Column) -> Seen:
    from apps.executions.models import Execution

    seen = _outcome(run(CALLER, "resume", {"exec": world.paused[c.target]}))
    state = Execution.objects.get(id=world.paused[c.target]).state
    assert (state != "PAUSED") is seen.allowed, state
    return seen


def purge_executions(world: World, c: Column) -> Seen:
    from apps.executions.models import Execution

    seen = _outcome(run(CALLER, "purge_executions", {"ns": c.target}))
    assert Execution.objects.filter(id=world.victims[c.target]).exists() is not seen.allowed
    return seen


def purge_logs(world: World, c: Column) -> Seen:
    from apps.executions.models import LogLine

    seen = _outcome(run(CALLER, "purge_logs", {"ns": c.target}))
    assert LogLine.objects.filter(execution_id=world.chatty[c.target]).exists() is not seen.allowed
    return seen


def _children(namespace: str, flow_id: str) -> int:
    from apps.executions.models import Execution

    return Execution.objects.filter(namespace=namespace, flow_id=flow_id).count()


def subflow(world: World, c: Column) -> Seen:
    before = _children(c.target, "child")
    seen = _outcome(run(CALLER, "subflow", {"ns": c.target}))
    assert _children(c.target, "child") == before + (1 if seen.allowed else 0)
    return seen


def for_each_item(world: World, c: Column) -> Seen:
    before = _children(c.target, "child")
    seen = _outcome(run(CALLER, "for_each_item", {"ns": c.target, "items": b"one\ntwo\n"}))
    assert _children(c.target, "child") == before + (2 if seen.allowed else 0)
    return seen


def for_each_item_file(world: World, c: Column) -> Seen:
    before = _children(CALLER, "sink")
    seen = _outcome(run(CALLER, "for_each_item_file", {"uri": world.files[c.target]}))
    assert _children(CALLER, "sink") == before + (1 if seen.allowed else 0)
    return seen


def flow_trigger(world: World, c: Column) -> Seen:
    """A listener hears an execution only when its namespace may read the execution's; a
    denied one is filtered before its conditions run: no execution, nothing to report."""
    from apps.executions.models import Execution

    index = TARGETS.index(c.target)
    before = _children(CALLER, f"listen{index}")
    ping = run(c.target, "ping")
    heard = list(Execution.objects.filter(namespace=CALLER, flow_id=f"listen{index}")
                 .order_by("-created").values_list("trigger", flat=True))
    allowed = len(heard) == before + 1
    if allowed:
        assert heard[0]["variables"]["executionId"] == ping.id
    else:
        assert len(heard) == before
    return Seen(allowed, f"flow namespace '{CALLER}' may not read '{c.target}'" if not allowed else "")


def eval_kv(world: World, c: Column) -> Seen:
    """The expression console renders with the execution's namespace: `kv()` of another
    namespace follows the same rule (the user needs WRITE on the execution's namespace)."""
    from rest_framework.test import APIClient

    from apps.executions.models import TaskRun

    own = world.seeds[CALLER]
    task_run = TaskRun.objects.filter(execution_id=own.id, task_id="note").values_list("id", flat=True).first()
    client = APIClient()
    client.force_authenticate(world.alice)
    reply = client.post(f"/api/v1/executions/{own.id}/eval/{task_run}",
                        f"{{{{ kv('k', namespace='{c.target}') }}}}", content_type="text/plain")
    assert reply.status_code == 200, reply.content
    body = reply.json()
    if "result" in body:
        assert body["result"] == f"kv-of-{c.target}"
        return Seen(True)
    return Seen(False, body["error"])


@dataclass(frozen=True)
class Crossing:
    name: str
    access: reach.Access
    check: Callable[[World, Column], Seen]


R, W, A = reach.Access.READ, reach.Access.WRITE, reach.Access.ACT
CROSSINGS = [
    Crossing("flow trigger", R, flow_trigger),
    Crossing("kv.Get", R, kv_get),
    Crossing("kv.GetKeys", R, kv_keys),
    Crossing("kv()", R, kv_fn),
    Crossing("kv.Set", W, kv_set),
    Crossing("namespace.DownloadFiles", R, nsf_download),
    Crossing("namespace.UploadFiles", W, nsf_upload),
    Crossing("namespace.DeleteFiles", W, nsf_delete),
    Crossing("kv.Delete", W, kv_delete),
    Crossing("read()", R, read_fn),
    Crossing("fileSize()", R, file_size_fn),
    Crossing("storage URI as ForEachItem items", R, for_each_item_file),
    Crossing("log.Fetch", R, log_fetch),
    Crossing("execution.Count", R, count),
    Crossing("execution.Resume", A, resume),
    Crossing("PurgeExecutions", A, purge_executions),
    Crossing("PurgeLogs", A, purge_logs),
    Crossing("Subflow", A, subflow),
    Crossing("ForEachItem", A, for_each_item),
    Crossing("eval kv()", R, eval_kv),
]
CASES = [(crossing, column) for crossing in CROSSINGS for column in COLUMNS]


def test_the_columns_are_the_relations_they_claim() -> None:
    assert [reach.relation(CALLER, c.target) for c in COLUMNS] == [c.relation for c in COLUMNS]
    assert {c.relation for c in COLUMNS} == set(reach.Relation)
    assert set(reach.TABLE) == set(reach.Relation)
    assert {x.access for x in CROSSINGS} == set(reach.Access)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(("crossing", "column"), CASES,
                         ids=[f"{x.name}-{c.label}-{c.target}" for x, c in CASES])
def test_isolation_matrix(world: World, crossing: Crossing, column: Column) -> None:
    seen = crossing.check(world, column)
    want = expected(column, crossing.access)
    assert seen.allowed is want, f"{crossing.name} into {column.target}: expected " \
                                 f"{'allowed' if want else 'denied'}; {seen.message}"
    if not want:
        assert f"'{CALLER}'" in seen.message and f"'{column.target}'" in seen.message, seen.message
        if crossing.name != "flow trigger":
            assert "allowedNamespaces" in seen.message, seen.message
            if column.listed:
                assert "lacks" in seen.message and "alice" in seen.message, seen.message
