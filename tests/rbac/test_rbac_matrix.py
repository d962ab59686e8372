"""The RBAC matrix (RELIABILITY.md §3.2 "Authorization bypass / IDOR"; DESIGN.md §7).

Generated: every route of the URL resolver and every method its view answers, called as
{anonymous, outsider, READ, EXECUTE, WRITE, OWNER, superuser} (the roles bound on `acme.prod`)
against objects in {the namespace, a child, the parent, a sibling, the look-alike `acme.prodx`,
and `prod` in another tree}. The expected outcome of each case comes from the policy table
(apps/namespaces/policy.py), never from the view under test:

- allowed: the same status as the superuser gets (the superuser must not get 401/403, nor 404
  on a namespace-scoped route: that would mean the fixtures do not reach the route);
- a namespace the persona cannot read: 404; readable with too low a role: 403;
- superuser-only routes: 403; anonymous: 401 (API) or a redirect to the login page (pages);
- lists: 200 for everyone signed in, and the target's object listed iff the persona may read it.

A route missing from the policy fails `test_every_route_has_a_policy`. Each case runs in a
savepoint that is rolled back, so a delete in one case does not starve the next.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.namespaces.permissions import LEVEL, is_child_namespace
from apps.namespaces.policy import FAMILIES, RULES, Need, Rule, Sample, Scope, canonical, rule_for

BOUND = "acme.prod"
TARGETS = {"self": "acme.prod", "child": "acme.prod.x", "parent": "acme", "sibling": "acme.dev",
           "lookalike": "acme.prodx", "other-tree": "prod"}
ROLES = {"READ": 1, "EXECUTE": 2, "WRITE": 3, "OWNER": 4}
PERSONAS = ("anonymous", "outsider", "READ", "EXECUTE", "WRITE", "OWNER", "superuser")
EXECUTION_LISTS = {"api/v1/executions", "api/v1/executions/search", "api/v1/logs/search", "executions/",
                   "api/v1/executions/export/by-query/csv", "api/v1/executions/latest"}
COUNTED_LISTS = {"api/v1/stats/executions/daily"}
KV_LISTS = {"api/v1/kv"}
DRAFT_LISTS = {"api/v1/flows/drafts"}
NAMESPACE_LISTS = {"api/v1/namespaces", "api/v1/flows/distinct-namespaces", "namespaces/",
                   "api/v1/executions/namespaces", "api/v1/executions/distinct-field-values"}
COUNTS: Counter[str] = Counter()
KNOWN_GAPS = {
}
"""Views that disagree with the policy, owned elsewhere: strict xfail, so fixing one flips it."""


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def _methods(callback: Any, rule: Rule) -> list[str]:
    """Our class-based views say which methods they answer; function views and Django's own
    views are taken at the policy's word."""
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None or not view.__module__.startswith("apps."):
        return sorted(rule.methods)
    return sorted(m.upper() for m in view.http_method_names
                  if m not in {"options", "head"} and hasattr(view, m))


def _routes() -> list[tuple[str, Any]]:
    return [(canonical(raw), cb) for raw, cb in _walk(get_resolver().url_patterns)
            if not any(raw.startswith(f) for f in FAMILIES)]


def _cases() -> list[Any]:
    out = []
    for route, callback in _routes():
        rule = rule_for(route)
        if rule is None:
            continue
        for method in _methods(callback, rule):
            gap = KNOWN_GAPS.get((route, method))
            marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
            out.append(pytest.param(route, method, id=f"{method} /{route}", marks=marks))
    return out


def test_every_route_has_a_policy() -> None:
    missing = [route for route, _ in _routes() if rule_for(route) is None]
    assert not missing, f"routes without a policy row in apps/namespaces/policy.py: {missing}"
    unknown_methods = [(route, m) for route, cb in _routes() for m in _methods(cb, rule_for(route))  # type: ignore[arg-type]
                       if m not in rule_for(route).methods]  # type: ignore[union-attr]
    assert not unknown_methods, f"methods without a policy: {unknown_methods}"


def test_every_websocket_route_has_a_policy() -> None:
    try:
        from apps.live.routing import websocket_urlpatterns
    except ImportError:
        pytest.skip("apps.live has no WebSocket routes yet")
    routes = [canonical(str(p.pattern)) for p in websocket_urlpatterns]
    missing = [r for r in routes if rule_for(r) is None or rule_for(r).transport != "ws"]  # type: ignore[union-attr]
    assert not missing, f"WebSocket routes without a policy row: {missing}"


def test_the_policy_names_no_route_that_is_gone() -> None:
    http = {route for route, _ in _routes()}
    stale = [r.route for r in RULES if r.transport == "http" and r.route not in http]
    assert not stale, f"policy rows for routes that no longer exist: {stale}"


# ---------------------------------------------------------------------------------------------
# The world: users bound on acme.prod, and in every target namespace a flow, a finished
# execution with a task run, a log line and an input file, a secret and a member to change.

FLOW = """\
id: {flow_id}
namespace: {namespace}
inputs:
  - id: doc
    type: FILE
    required: false
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hello from {namespace}
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 3 * * *"
"""


@dataclass
class World:
    users: dict[str, Any]
    values: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.executions import services as ex_services
    from apps.executions.records import kvstore
    from apps.flows import services as flow_services
    from apps.namespaces.models import Binding, Namespace, Role
    from config.celery import app

    with django_db_blocker.unblock():
        users: dict[str, Any] = {"anonymous": None}
        users["superuser"] = User.objects.create_superuser("m-root", password="pw")
        users["outsider"] = User.objects.create_user("m-outsider", password="pw")
        for role in ROLES:
            users[role] = User.objects.create_user(f"m-{role.lower()}", password="pw")
            Binding.objects.create(user=users[role], namespace=BOUND, role=Role[role])
        User.objects.create_user("mallory", password="pw")
        mia = User.objects.create_user("mia", password="pw")
        crew = Group.objects.create(name="crew")
        User.objects.create_user("robot", is_service_account=True)
        app.conf.task_always_eager = True
        values: dict[str, dict[str, str]] = {}
        try:
            for i, (label, ns) in enumerate(TARGETS.items(), start=1):
                flow_id = f"flow{i}z"
                flow_services.create_flow(users["superuser"], FLOW.format(flow_id=flow_id, namespace=ns))
                row = ex_services.create_execution(ns, flow_id, inputs={"doc": b"file body"})
                row = ex_services.wait(row.id, 30)
                assert row.state == "SUCCESS", (ns, row.state)
                task_run = row.task_runs.order_by("seq").first()
                Binding.objects.create(user=mia, namespace=ns, role=Role.READ)
                _secret(users["superuser"], ns)
                kvstore.put(ns, "K1", "kv-value")
                _namespace_file(ns)
                _draft(users["superuser"], ns, f"draft{i}z")
                values[label] = {
                    "namespace": ns, "flow_id": flow_id, "new_flow": f"new{i}z", "execution_id": row.id,
                    "task_run_id": task_run.id if task_run else "none", "file_uri": quote(row.inputs["doc"], safe=""),
                    "key": "K1", "trigger_id": "nightly", "username": "mallory", "member": "mia", "group": crew.name,
                    "service_account": "robot", "new_namespace": f"{ns}.made", "multipart_flow": "",
                    "draft_id": f"draft{i}z",
                }
        finally:
            app.conf.task_always_eager = False
        assert set(Namespace.objects.values_list("name", flat=True)) >= set(TARGETS.values())
    yield World(users, values)
    with django_db_blocker.unblock():
        _clean()


def _secret(user: Any, namespace: str) -> None:
    try:
        from apps.secrets import services as secrets
    except ImportError:
        return
    secrets.set_secret(user, namespace, "K1", "s3cr3t-value")


def _draft(user: Any, namespace: str, flow_id: str) -> None:
    from apps.flows import drafts
    from apps.namespaces.policy import DRAFT_YAML

    drafts.save_draft(user, DRAFT_YAML.format(new_flow=flow_id, namespace=namespace))


def _namespace_file(namespace: str) -> None:
    try:
        from apps.files import store
    except ImportError:
        return
    store.write(namespace, "docs/hello.txt", b"hello")


def _clean() -> None:
    from django.apps import apps as registry

    from apps.accounts.models import User

    for label in ("executions.Execution", "executions.KVEntry", "triggers.TriggerState", "flows.FlowRevision",
                  "flows.Flow", "flows.FlowDraft", "namespaces.Binding",
                  "namespaces.Namespace", "accounts.ApiToken", "accounts.Invitation", "audit.AuditEvent",
                  "secrets.Secret", "files.NamespaceFile", "auth.Group"):
        try:
            registry.get_model(label).objects.all().delete()
        except LookupError:
            continue
    User.objects.all().delete()


# ---------------------------------------------------------------------------------------------
# One case


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _url(rule: Rule, values: dict[str, str]) -> str:
    return "/" + str(_fill(_fill(rule.route, {**values, **rule.params}), values))


def _call(client: Client, rule: Rule, method: str, values: dict[str, str]) -> Any:
    sample: Sample = rule.samples.get(method, Sample())
    url = _url(rule, values)
    query = _fill(sample.query, values)
    full = f"{url}?{query}" if query else url
    body = _fill(sample.body, values)
    if sample.content_type.startswith("multipart") and sample.body == "{multipart_file}":
        return client.post(full, {"fileContent": SimpleUploadedFile("new.txt", b"new content", "text/plain")})
    if sample.content_type.startswith("multipart"):
        from apps.namespaces.policy import FLOW_YAML

        upload = SimpleUploadedFile("flows.yml", _fill(FLOW_YAML, values).encode(), "application/x-yaml")
        return client.post(full, {"fileUpload": upload})
    if rule.page and method == "POST" and not sample.content_type:
        return client.post(full, body or {})
    if body is None:
        return client.generic(method, full)
    content_type = sample.content_type or "application/json"
    data = json.dumps(body) if content_type == "application/json" else str(body)
    return client.generic(method, full, data.encode(), content_type=content_type)


def _run(client: Client, rule: Rule, method: str, values: dict[str, str]) -> Any:
    cache.clear()  # throttles (webhook misses) must not carry over between cases
    with transaction.atomic():
        response = _call(client, rule, method, values)
        transaction.set_rollback(True)
    return response


def _readable(persona: str, namespace: str) -> bool:
    return persona == "superuser" or (persona in ROLES and is_child_namespace(namespace, BOUND))


def _role_allows(persona: str, need: Need, namespace: str) -> bool:
    if persona == "superuser":
        return True
    return persona in ROLES and is_child_namespace(namespace, BOUND) and ROLES[persona] >= LEVEL[need.action]


def _marker(route: str, values: dict[str, str], body: bytes) -> bool:
    text = body.decode("utf-8", "replace")
    if route in EXECUTION_LISTS:
        return values["execution_id"] in text
    if route in COUNTED_LISTS:
        return sum(int(bucket["total"]) for bucket in json.loads(text)) > 0
    if route in NAMESPACE_LISTS:
        return values["namespace"] in _namespaces_listed(text)
    if route in DRAFT_LISTS:
        return values["draft_id"] in text
    if route in KV_LISTS:
        return values["namespace"] in {row["namespace"] for row in json.loads(text)["results"]}
    return values["flow_id"] in text


def _namespaces_listed(text: str) -> set[str]:
    """Names in a JSON list of names, a JSON page of namespace objects, or the tree page's links."""
    try:
        data = json.loads(text)
    except ValueError:
        return set(re.findall(r">([a-z0-9._-]+)</a>", text))
    if isinstance(data, dict):
        data = [item.get("id") for item in data.get("results", [])]
    return {str(item) for item in data}


def _client(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), _cases())
def test_route_against_every_persona_and_namespace(world: World, route: str, method: str) -> None:
    rule = rule_for(route)
    assert rule is not None
    need = rule.methods[method]
    clients = {p: _client(u) for p, u in world.users.items()}
    failures = []
    for label, values in world.values.items():
        namespace = values["namespace"]
        baseline = _run(clients["superuser"], rule, method, values)
        assert baseline.status_code not in (401, 403), (route, method, namespace, baseline.status_code)
        if need.scope == Scope.NAMESPACE:
            assert baseline.status_code != 404, \
                f"the superuser gets 404 on {method} /{route} in {namespace}: the fixtures miss something " \
                f"({baseline.getvalue()[:200]!r})"
        for persona in PERSONAS:
            COUNTS[need.category] += 1
            COUNTS["cases"] += 1
            got = baseline if persona == "superuser" else _run(clients[persona], rule, method, values)
            wanted = _expected(rule, need, persona, namespace, baseline.status_code)
            ok = got.status_code in wanted
            if ok and need.scope == Scope.LIST and persona != "anonymous" and got.status_code == 200:
                ok = _marker(route, values, got.getvalue()) == _readable(persona, namespace)
            if not ok:
                failures.append(f"{persona:>9} in {label:<10} ({namespace}): got {got.status_code}, "
                                f"wanted {sorted(wanted)} {got.getvalue()[:160]!r}")
    assert not failures, f"{method} /{route} ({need.scope}, {need.action}):\n" + "\n".join(failures)


def _expected(rule: Rule, need: Need, persona: str, namespace: str, baseline: int) -> set[int]:
    if need.scope == Scope.PUBLIC or persona == "superuser":
        return {baseline}
    if persona == "anonymous":
        return {302} if rule.page else {401}
    if need.scope in (Scope.SIGNED_IN, Scope.LIST):
        return {baseline}
    if need.scope == Scope.SUPERUSER:
        return {403}
    if _role_allows(persona, need, namespace):
        return {baseline}
    return {403} if _readable(persona, namespace) else {404}


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> None:
    """tests/rbac/conftest.py prints these counts in the terminal summary."""
    request.config.rbac_counts = COUNTS  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# The WebSocket routes, through the real ASGI application (origin check, authentication,
# consumers). Personas authenticate with API tokens made (and committed) for these cases: the
# consumers read the database from other threads.


@pytest.fixture(scope="module")
def ws_tokens(world: World, django_db_blocker: Any) -> dict[str, str | None]:
    from apps.accounts.services import create_token

    with django_db_blocker.unblock():
        return {p: (create_token(u, "ws matrix").raw if u is not None else None) for p, u in world.users.items()}


def _first_frame(path: str, token: str | None) -> dict[str, Any]:
    """Open a WebSocket on the ASGI application in-process and return its first JSON frame."""
    from asgiref.testing import ApplicationCommunicator

    from config.asgi import application

    route, _, query = path.partition("?")
    if token:
        query = f"{query}&token={token}" if query else f"token={token}"

    async def talk() -> dict[str, Any]:
        scope = {"type": "websocket", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                 "headers": [(b"origin", b"http://testserver"), (b"host", b"testserver")], "subprotocols": []}
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "websocket.connect"})
        opened = await communicator.receive_output(10)
        if opened["type"] != "websocket.accept":
            return {"type": "refused"}
        sent = await communicator.receive_output(10)
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(10)
        frame: dict[str, Any] = json.loads(sent.get("text") or "{}")
        return frame

    # On a thread of its own: run from the test's thread, the consumers' database calls would
    # share (and close) the test's connection.
    out: list[dict[str, Any]] = []

    def run() -> None:
        try:
            out.append(asyncio.run(talk()))
        except Exception as error:  # reported as the frame, so the case says what went wrong
            out.append({"type": f"exception {type(error).__name__}: {error}"})

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return out[0] if out else {"type": "timeout"}


@pytest.mark.postgres  # the consumers read from other threads, which SQLite's test database blocks
@pytest.mark.django_db
@pytest.mark.parametrize("route", ["ws/v1/executions/{execution_id}", "ws/v1/executions?namespace={namespace}"])
def test_websocket_subscriptions_against_every_persona_and_namespace(world: World, ws_tokens: dict[str, str | None],
                                                                     route: str, settings: Any) -> None:
    # The in-memory layer: each case runs its consumer on an event loop of its own.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    failures = []
    for label, values in world.values.items():
        namespace = values["namespace"]
        for persona in PERSONAS:
            COUNTS["websocket"] += 1
            COUNTS["cases"] += 1
            frame = _first_frame("/" + _fill(route, values), ws_tokens[persona])
            if persona == "anonymous":
                wanted = {"error:401"}
            elif "{execution_id}" in route:  # an execution's stream: READ on its namespace, else 404
                wanted = {"state"} if _readable(persona, namespace) else {"error:404"}
            else:  # a list stream: any signed-in user (each event is checked on its own)
                wanted = {"ready"}
            got = f"error:{frame.get('status')}" if frame.get("type") == "error" else str(frame.get("type"))
            if got not in wanted:
                failures.append(f"{persona:>9} in {label:<10} ({namespace}): got {got}, wanted {sorted(wanted)}")
    assert not failures, f"/{route}:\n" + "\n".join(failures)
