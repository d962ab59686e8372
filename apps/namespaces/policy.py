"""The policy table: which role every route and method needs (DESIGN.md §7).

Views enforce it by calling `can()` / `visible()` / `require()` in their services; this table
states the intended outcome in one place, and `tests/rbac/test_rbac_matrix.py` checks every
route of the URL resolver (and the WebSocket router) against it: a route missing here fails
that test, and so does a view that answers differently from its row.

Reading a row: `Need(category, scope, action)`.
- `Scope.PUBLIC`: anyone, signed in or not (the login page, webhooks keyed by their secret).
- `Scope.SIGNED_IN`: any signed-in user; the route shows nothing of a namespace.
- `Scope.LIST`: any signed-in user; what it lists is filtered by `visible(..., READ)`.
- `Scope.NAMESPACE`: `action` on the namespace of the object addressed (URL or body). Without
  READ there: 404; with READ but a lower role than `action`: 403.
- `Scope.SUPERUSER`: superusers only (403 for everyone else).

`Sample` is how the matrix test calls a route: a query string and a body, with `{placeholders}`
filled per case (namespace, flow_id, execution_id, task_run_id, key, group, username, new_flow…).
Adding a route family is one `Rule(...)` line here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from apps.namespaces.permissions import Action


class Scope(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed-in"
    LIST = "list"
    NAMESPACE = "namespace"
    SUPERUSER = "superuser"


class Category(StrEnum):
    LIST = "list"
    DETAIL = "detail"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ACTIONS = "actions"
    LOGS = "logs"
    FILES = "files"
    SECRETS = "secrets"


@dataclass(frozen=True)
class Need:
    category: Category
    scope: Scope
    action: Action = Action.READ


@dataclass(frozen=True)
class Sample:
    query: str = ""
    body: Any = None
    content_type: str = ""
    """Empty: the route's natural encoding (JSON for the API, a form for pages)."""


@dataclass(frozen=True)
class Rule:
    route: str
    """Canonical route: the resolver's pattern with `{name}` for each parameter (`canonical()`)."""
    methods: dict[str, Need]
    samples: dict[str, Sample] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    """Fixed values for URL parameters that are not namespace objects (a plugin class, a kind)."""
    page: bool = False
    """A server-rendered page: anonymous callers are sent to the login page instead of 401."""
    transport: str = "http"


def _n(category: Category, action: Action = Action.READ) -> Need:
    return Need(category, Scope.NAMESPACE, action)


L, D, C, U, X = Category.LIST, Category.DETAIL, Category.CREATE, Category.UPDATE, Category.DELETE
A, LOGS, F, S = Category.ACTIONS, Category.LOGS, Category.FILES, Category.SECRETS
E, W, OWN = Action.EXECUTE, Action.WRITE, Action.OWNER
LISTED = Need(L, Scope.LIST)
SIGNED_IN = Need(D, Scope.SIGNED_IN)
PUBLIC = Need(D, Scope.PUBLIC)
ADMIN = Need(U, Scope.SUPERUSER)

FLOW_YAML = ("id: {new_flow}\nnamespace: {namespace}\ntasks:\n  - id: hello\n"
             "    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
YAML = "application/x-yaml"
DRAFT_YAML = ("id: {new_flow}\nnamespace: {namespace}\ntasks:\n  - id: hello\n"
              "    type: io.kestra.plugin.scripts.python.Unknown\n")
"""A flow that does not validate (an unknown type): what a draft keeps."""
EX = "api/v1/executions/{execution_id}"
NSF = "api/v1/flows/{namespace}/{flow_id}"
NSFILES = "api/v1/namespaces/{namespace}/files"
TRIGGER = {"namespace": "{namespace}", "flowId": "{flow_id}", "triggerId": "{trigger_id}"}
BULK_METHODS = {word: "DELETE" if word in ("delete", "kill") else "POST" for word in (
    "delete", "kill", "restart", "replay", "resume", "pause", "change-status", "labels", "unqueue", "force-run")}
"""The bulk execution actions (apps/executions/api/bulk.py) and their methods."""

RULES: tuple[Rule, ...] = (
    # Executions (apps/executions/api)
    Rule("api/v1/executions/webhook/{namespace}/{flow_id}/{key}",
         {"GET": PUBLIC, "POST": PUBLIC, "PUT": PUBLIC}, params={"key": "wrong-key"}),
    Rule("api/v1/executions/webhook/{namespace}/{flow_id}/{key}/{webhook_path}",
         {"GET": PUBLIC, "POST": PUBLIC, "PUT": PUBLIC}, params={"key": "wrong-key", "webhook_path": "a/b"}),
    Rule("api/v1/executions", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}&flowId={flow_id}")}),
    Rule("api/v1/executions/search", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/executions/export/by-query/csv", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/executions/namespaces", {"GET": LISTED}),
    Rule("api/v1/executions/namespaces/{namespace}/flows", {"GET": _n(D)}),
    Rule("api/v1/executions/namespaces/{namespace}/flows/{flow_id}/average-duration", {"GET": _n(D)}),
    Rule("api/v1/executions/latest", {"POST": LISTED},
         {"POST": Sample(body=[{"namespace": "{namespace}", "id": "{flow_id}"}])}),
    Rule("api/v1/executions/distinct-field-values", {"GET": LISTED},
         {"GET": Sample(query="field=NAMESPACE&namespace={namespace}")}),
    Rule("api/v1/executions/trigger/{namespace}/{flow_id}", {"POST": _n(C, E)}, {"POST": Sample(body={})}),
    Rule(EX + "/kill", {"DELETE": _n(A, E)}),
    Rule(EX + "/restart", {"POST": _n(A, E)}),
    Rule(EX + "/replay", {"POST": _n(A, E)}),
    Rule(EX + "/replay-with-inputs", {"POST": _n(A, E)}, {"POST": Sample(body={})}),
    Rule(EX + "/resume/validate", {"POST": _n(A, E)}, {"POST": Sample(body={})}),
    Rule(EX + "/resume", {"POST": _n(A, E)}, {"POST": Sample(body={})}),
    Rule(EX + "/pause", {"POST": _n(A, E)}),
    Rule(EX + "/change-status", {"POST": _n(A, E)}, {"POST": Sample(query="status=SUCCESS")}),
    Rule(EX + "/state", {"POST": _n(A, E)}, {"POST": Sample(body={"taskRunId": "{task_run_id}", "state": "SUCCESS"})}),
    Rule(EX + "/labels", {"POST": _n(U, E)}, {"POST": Sample(body=[{"key": "team", "value": "a"}])}),
    Rule(EX + "/unqueue", {"POST": _n(A, E)}),
    Rule(EX + "/force-run", {"POST": _n(A, E)}),
    Rule(EX + "/file/metas", {"GET": _n(F)}, {"GET": Sample(query="path={file_uri}")}),
    Rule(EX + "/file", {"GET": _n(F)}, {"GET": Sample(query="path={file_uri}")}),
    Rule(EX + "/graph", {"GET": _n(D)}),
    Rule(EX + "/eval/{task_run_id}", {"POST": _n(A, W)}, {"POST": Sample(body="{{ 1 + 1 }}", content_type="text/plain")}),
    Rule(EX + "/follow", {"GET": _n(D)}),
    Rule(EX + "/follow-dependencies", {"GET": _n(D)}),
    Rule(EX + "/flow", {"GET": _n(D)}),
    Rule("api/v1/executions/flows/{namespace}/{flow_id}", {"GET": _n(D)}),
    Rule(EX + "/file/preview", {"GET": _n(F)}, {"GET": Sample(query="path={file_uri}")}),
    Rule(EX + "/actions/eval", {"POST": _n(A, W)}, {"POST": Sample(body="{{ 1 + 1 }}", content_type="text/plain")}),
    Rule("api/v1/executions/{namespace}/{flow_id}/validate", {"POST": _n(C, E)}, {"POST": Sample(body={})}),
    Rule("api/v1/executions/{namespace}/{flow_id}", {"POST": _n(C, E)}, {"POST": Sample(body={})}),
    Rule(EX, {"GET": _n(D), "DELETE": _n(X, W)}),
    *(Rule(f"api/v1/executions{'' if word == 'delete' else '/' + word}/by-ids",
           {method: _n(X if word == "delete" else A, W if word == "delete" else E)},
           {method: Sample(body={"executionsId": ["{execution_id}"], "executionLabels": [{"key": "team", "value": "a"}]}
                           if word == "labels" else ["{execution_id}"],
                           query="newStatus=SUCCESS" if word == "change-status" else "")})
      for word, method in BULK_METHODS.items()),
    *(Rule(f"api/v1/executions{'' if word == 'delete' else '/' + word}/by-query",
           {method: _n(X if word == "delete" else A, W if word == "delete" else E)},
           {method: Sample(query="namespace={namespace}" + ("&newStatus=SUCCESS" if word == "change-status" else ""),
                           body=[{"key": "team", "value": "a"}] if word == "labels" else None)})
      for word, method in BULK_METHODS.items()),
    Rule("api/v1/stats/executions/daily", {"GET": LISTED, "POST": LISTED},
         {"GET": Sample(query="namespace={namespace}&flowId={flow_id}"),
          "POST": Sample(body={"namespace": "{namespace}", "flowId": "{flow_id}"})}),
    Rule("api/v1/stats/flows/timeline", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/logs/search", {"GET": Need(LOGS, Scope.LIST)}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/logs/{execution_id}/download", {"GET": _n(LOGS)}),
    Rule("api/v1/logs/{execution_id}/follow", {"GET": _n(LOGS)}),
    Rule("api/v1/logs/{execution_id}", {"GET": _n(LOGS), "DELETE": _n(LOGS, W)}),
    Rule("api/v1/metrics/{execution_id}", {"GET": _n(D)}),
    Rule("api/v1/metrics/names/{namespace}/{flow_id}", {"GET": _n(D)}),
    Rule("api/v1/metrics/names/{namespace}/{flow_id}/{task_id}", {"GET": _n(D)}, params={"task_id": "hello"}),
    Rule("api/v1/metrics/tasks/{namespace}/{flow_id}", {"GET": _n(D)}),
    Rule("api/v1/metrics/aggregates/{namespace}/{flow_id}/{metric}", {"GET": _n(D)}, params={"metric": "rows"}),
    Rule("api/v1/metrics/aggregates/{namespace}/{flow_id}/{task_id}/{metric}", {"GET": _n(D)},
         params={"task_id": "hello", "metric": "rows"}),
    # The KV store (apps/executions/api/views_kv.py)
    Rule("api/v1/kv", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/namespaces/{namespace}/kv", {"GET": _n(D), "DELETE": _n(X, W)},
         {"DELETE": Sample(body={"keys": ["{key}"]})}),
    Rule("api/v1/namespaces/{namespace}/kv/inheritance", {"GET": _n(D)}),
    Rule("api/v1/namespaces/{namespace}/kv/{key}", {"GET": _n(D), "PUT": _n(U, W), "DELETE": _n(X, W)},
         {"PUT": Sample(body='"v2"', content_type="text/plain")}),
    # Triggers (apps/triggers/api)
    Rule("api/v1/triggers", {"PUT": _n(U, W)}, {"PUT": Sample(body={
        "namespace": "{namespace}", "flowId": "{flow_id}", "triggerId": "{trigger_id}", "disabled": True})}),
    Rule("api/v1/triggers/search", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/triggers/preview", {"POST": SIGNED_IN}, {"POST": Sample(body={"cron": "0 9 * * *"})}),
    Rule("api/v1/triggers/backfill/pause", {"PUT": _n(A, W)}, {"PUT": Sample(body=TRIGGER)}),
    Rule("api/v1/triggers/backfill/unpause", {"PUT": _n(A, W)}, {"PUT": Sample(body=TRIGGER)}),
    Rule("api/v1/triggers/backfill/delete", {"POST": _n(A, W)}, {"POST": Sample(body=TRIGGER)}),
    Rule("api/v1/triggers/set-disabled/by-triggers", {"POST": _n(U, W)},
         {"POST": Sample(query="disabled=true", body=[TRIGGER])}),
    Rule("api/v1/triggers/set-disabled/by-query", {"POST": _n(U, W)},
         {"POST": Sample(query="disabled=true&namespace={namespace}")}),
    Rule("api/v1/triggers/backfill/create", {"PUT": _n(A, W)}, {"PUT": Sample(body={
        **TRIGGER, "backfill": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}})}),
    Rule("api/v1/triggers/set-disabled", {"PUT": _n(U, W)}, {"PUT": Sample(body={**TRIGGER, "disabled": True})}),
    Rule("api/v1/triggers/export/by-query/csv", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/triggers/delete/by-triggers", {"DELETE": _n(A, W)}, {"DELETE": Sample(body=[TRIGGER])}),
    Rule("api/v1/triggers/delete/by-query", {"DELETE": _n(A, W)}, {"DELETE": Sample(query="namespace={namespace}")}),
    *(Rule(f"api/v1/triggers/{prefix}/by-triggers", {"POST": _n(A, W)}, {"POST": Sample(body=[TRIGGER])})
      for prefix in ("unlock", "backfill/pause", "backfill/unpause", "backfill/delete")),
    *(Rule(f"api/v1/triggers/{prefix}/by-query", {"POST": _n(A, W)}, {"POST": Sample(query="namespace={namespace}")})
      for prefix in ("unlock", "backfill/pause", "backfill/unpause", "backfill/delete")),
    Rule("api/v1/triggers/{namespace}/{flow_id}/{trigger_id}/unlock", {"POST": _n(A, W)}),
    Rule("api/v1/triggers/{namespace}/{flow_id}/{trigger_id}/restart", {"POST": _n(A, W)}),
    Rule("api/v1/triggers/{namespace}/{flow_id}/{trigger_id}", {"DELETE": _n(A, W)}),
    Rule("api/v1/triggers/{namespace}/{flow_id}", {"GET": _n(D)}),
    # Secrets (apps/secrets)
    Rule("api/v1/namespaces/{namespace}/secrets", {"GET": _n(S, OWN), "PUT": _n(S, OWN), "POST": _n(S, OWN)},
         {"PUT": Sample(body={"key": "NEW_ONE", "value": "v"}), "POST": Sample(body={"key": "NEW_ONE", "value": "v"})}),
    Rule("api/v1/namespaces/{namespace}/secrets/{key}", {"PUT": _n(S, OWN), "DELETE": _n(S, OWN)},
         {"PUT": Sample(body={"value": "v2"})}),
    # Namespace files (apps/files)
    Rule(NSFILES, {"GET": _n(F), "POST": _n(F, W), "PUT": _n(F, W), "DELETE": _n(F, W)},
         {"GET": Sample(query="path=docs/hello.txt"), "DELETE": Sample(query="path=docs/hello.txt"),
          "PUT": Sample(query="from=docs/hello.txt&to=docs/moved.txt"),
          "POST": Sample(query="path=docs/new.txt", body="{multipart_file}", content_type="multipart/form-data")}),
    Rule(NSFILES + "/stats", {"GET": _n(F)}, {"GET": Sample(query="path=docs/hello.txt")}),
    Rule(NSFILES + "/directory", {"GET": _n(F), "POST": _n(F, W)},
         {"GET": Sample(query="path=docs"), "POST": Sample(query="path=newdir")}),
    Rule(NSFILES + "/search", {"GET": _n(F)}, {"GET": Sample(query="q=hello")}),
    Rule(NSFILES + "/revisions", {"GET": _n(F)}, {"GET": Sample(query="path=docs/hello.txt")}),
    Rule(NSFILES + "/export", {"GET": _n(F)}),
    # Audit (apps/audit)
    Rule("api/v1/audit", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    # Namespaces, members, invitations (apps/namespaces)
    Rule("api/v1/namespaces", {"GET": LISTED, "POST": _n(C, OWN)}, {"POST": Sample(body={"id": "{new_namespace}"})}),
    Rule("api/v1/namespaces/{namespace}", {"GET": _n(D), "PATCH": _n(U, OWN), "PUT": _n(U, OWN), "DELETE": _n(X, OWN)},
         {"PATCH": Sample(body={"description": "d"}), "PUT": Sample(body={"variables": {"a": 1}})}),
    Rule("api/v1/namespaces/{namespace}/inherited", {"GET": _n(D)}),
    Rule("api/v1/namespaces/{namespace}/members", {"GET": _n(L, OWN), "POST": _n(C, OWN)},
         {"POST": Sample(body={"kind": "user", "name": "{username}", "role": "READ"})}),
    Rule("api/v1/namespaces/{namespace}/members/{kind}/{name}", {"PUT": _n(U, OWN), "DELETE": _n(X, OWN)},
         {"PUT": Sample(body={"role": "WRITE"})}, params={"kind": "users", "name": "{member}"}),
    Rule("api/v1/namespaces/{namespace}/invitations", {"GET": _n(L, OWN), "POST": _n(C, OWN)},
         {"POST": Sample(body={"email": "new@example.com", "role": "READ"})}),
    # Groups and service accounts (apps/accounts)
    Rule("api/v1/groups", {"GET": Need(L, Scope.SIGNED_IN), "POST": Need(C, Scope.SUPERUSER)},
         {"POST": Sample(body={"name": "new-group"})}),
    Rule("api/v1/groups/{group}", {"GET": SIGNED_IN, "DELETE": Need(X, Scope.SUPERUSER)}),
    Rule("api/v1/groups/{group}/members/{username}", {"PUT": ADMIN, "DELETE": ADMIN}),
    Rule("api/v1/service-accounts", {"GET": Need(L, Scope.SIGNED_IN), "POST": Need(C, Scope.SUPERUSER)},
         {"POST": Sample(body={"name": "new-robot"})}),
    Rule("api/v1/service-accounts/{name}/tokens", {"POST": Need(C, Scope.SUPERUSER)},
         {"POST": Sample(body={"name": "ci"})}, params={"name": "{service_account}"}),
    # Flows (apps/flows/api); body-addressed routes name the namespace in their body
    Rule("api/v1/flows", {"POST": _n(C, W)}, {"POST": Sample(body=FLOW_YAML, content_type=YAML)}),
    Rule("api/v1/flows/search", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/flows/distinct-namespaces", {"GET": LISTED}),
    Rule("api/v1/flows/validate", {"POST": SIGNED_IN}, {"POST": Sample(body=FLOW_YAML, content_type=YAML)}),
    Rule("api/v1/flows/graph", {"POST": SIGNED_IN}, {"POST": Sample(body=FLOW_YAML, content_type=YAML)}),
    Rule("api/v1/flows/bulk", {"POST": _n(C, W)}, {"POST": Sample(body=FLOW_YAML, content_type=YAML)}),
    Rule("api/v1/flows/import", {"POST": _n(C, W)}, {"POST": Sample(body="{multipart_flow}",
                                                                   content_type="multipart/form-data")}),
    Rule("api/v1/flows/export/by-query", {"GET": Need(F, Scope.LIST)}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/flows/export/by-query/csv", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}),
    Rule("api/v1/flows/export/by-ids", {"POST": _n(F)},
         {"POST": Sample(body=[{"namespace": "{namespace}", "id": "{flow_id}"}])}),
    Rule("api/v1/flows/delete/by-ids", {"DELETE": _n(X, W)},
         {"DELETE": Sample(body=[{"namespace": "{namespace}", "id": "{flow_id}"}])}),
    Rule("api/v1/flows/delete/by-query", {"DELETE": _n(X, W)}, {"DELETE": Sample(query="namespace={namespace}")}),
    *(Rule(f"api/v1/flows/{verb}/by-ids", {"POST": _n(U, W)},
           {"POST": Sample(body=[{"namespace": "{namespace}", "id": "{flow_id}"}])}) for verb in ("enable", "disable")),
    *(Rule(f"api/v1/flows/{verb}/by-query", {"POST": _n(U, W)},
           {"POST": Sample(query="namespace={namespace}")}) for verb in ("enable", "disable")),
    # Invalid drafts (apps/flows/api/drafts.py, docs/adr/0026): read like the flow, kept and discarded
    # like an edit; the collection's POST names its namespace in the YAML body
    Rule("api/v1/flows/drafts", {"GET": LISTED, "POST": _n(U, W)},
         {"POST": Sample(body=DRAFT_YAML, content_type=YAML)}),
    Rule(NSF + "/draft", {"GET": _n(D), "PUT": _n(U, W), "DELETE": _n(X, W)},
         {"PUT": Sample(body=DRAFT_YAML.replace("{new_flow}", "{draft_id}"), content_type=YAML)},
         params={"flow_id": "{draft_id}"}),
    Rule(NSF + "/revisions", {"GET": _n(D)}),
    Rule(NSF + "/graph", {"GET": _n(D)}),
    Rule(NSF + "/dependencies", {"GET": _n(D)}),
    Rule("api/v1/namespaces/{namespace}/dependencies", {"GET": _n(D)}),
    Rule(NSF + "/tasks/{task_id}", {"GET": _n(D)}, params={"task_id": "hello"}),
    Rule(NSF, {"GET": _n(D), "PUT": _n(U, W), "DELETE": _n(X, W)},
         {"PUT": Sample(body=FLOW_YAML.replace("{new_flow}", "{flow_id}").replace("hi", "changed"),
                        content_type=YAML)}),
    Rule("api/v1/flows/{namespace}", {"GET": LISTED, "POST": _n(C, W)},
         {"POST": Sample(query="delete=false", body=FLOW_YAML, content_type=YAML)}),
    # Plugins, docs, the API's fallback
    Rule("api/v1/plugins", {"GET": SIGNED_IN}),
    Rule("api/v1/plugins/inputs", {"GET": SIGNED_IN}),
    Rule("api/v1/plugins/inputs/{name}", {"GET": SIGNED_IN}, params={"name": "STRING"}),
    Rule("api/v1/plugins/schemas/{kind}", {"GET": SIGNED_IN}, params={"kind": "flow"}),
    Rule("api/v1/plugins/{cls}", {"GET": SIGNED_IN}, params={"cls": "io.kestra.plugin.core.log.Log"}),
    Rule("api/v1/{unknown}", {m: Need(D, Scope.SIGNED_IN) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")},
         params={"unknown": "no-such-route"}),
    Rule("api/schema/", {"GET": PUBLIC}),
    # Management endpoints (apps/executions/api/ops.py): probes need no credentials
    Rule("health/liveness", {"GET": PUBLIC}),
    Rule("health/readiness", {"GET": PUBLIC}),
    # Prometheus series name every namespace and flow: superusers only (docs/adr/0018)
    Rule("metrics", {"GET": Need(D, Scope.SUPERUSER)}),
    Rule("api/docs/", {"GET": PUBLIC}),
    # What Kestra's clients read before signing in (apps/core/api/views.py)
    Rule("api/v1/configs", {"GET": PUBLIC}),
    # Pages
    Rule("login/", {"GET": PUBLIC}, page=True),
    Rule("logout/", {"POST": PUBLIC}, page=True),
    Rule("account/tokens/", {"GET": SIGNED_IN, "POST": Need(C, Scope.SIGNED_IN)}, {"POST": Sample(body={"name": "t"})},
         page=True),
    Rule("groups/", {"GET": Need(L, Scope.SIGNED_IN), "POST": Need(C, Scope.SUPERUSER)},
         {"POST": Sample(body={"name": "page-group"})}, page=True),
    Rule("groups/{name}/", {"GET": SIGNED_IN, "POST": ADMIN}, {"POST": Sample(body={"username": "{username}"})},
         params={"name": "{group}"}, page=True),
    Rule("invitations/{token}/", {"GET": PUBLIC}, params={"token": "not-a-token"}, page=True),
    Rule("namespaces/", {"GET": LISTED, "POST": _n(C, OWN)}, {"POST": Sample(body={"name": "{new_namespace}"})},
         page=True),
    Rule("namespaces/{namespace}/", {"GET": _n(D), "POST": _n(U, OWN)}, {"POST": Sample(body={"description": "x"})},
         page=True),
    Rule("namespaces/{namespace}/members/", {"GET": _n(L, OWN), "POST": _n(C, OWN)},
         {"POST": Sample(body={"kind": "user", "name": "{username}", "role": "READ"})}, page=True),
    Rule("namespaces/{namespace}/kv/", {"GET": _n(D), "POST": _n(U, W)}, {"POST": Sample(body={"key": "page_kv", "value": "1"})},
         page=True),
    Rule("namespaces/{namespace}/secrets/", {"GET": _n(S, OWN), "POST": _n(S, OWN)},
         {"POST": Sample(body={"key": "PAGE_ONE", "value": "v"})}, page=True),
    Rule("namespaces/{namespace}/files/", {"GET": _n(F)}, page=True),
    Rule("audit/", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}, page=True),
    Rule("", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}, page=True),
    Rule("flows/new/", {"GET": SIGNED_IN}, page=True),
    Rule("dashboard/", {"GET": SIGNED_IN}, page=True),
    Rule("triggers/", {"GET": LISTED, "POST": _n(U, W)}, {"GET": Sample(query="namespace={namespace}"), "POST": Sample(
        body={**TRIGGER, "action": "disable"})}, page=True),
    Rule("flows/{namespace}/{flow_id}/", {"GET": _n(D)}, page=True),
    Rule("flows/{namespace}/{flow_id}/revisions/", {"GET": _n(D)}, page=True),
    Rule("flows/{namespace}/{flow_id}/edit/", {"GET": _n(U, W)}, page=True),
    Rule("flows/{namespace}/{flow_id}/execute/", {"GET": _n(C, E)}, page=True),
    Rule("flows/{namespace}/{flow_id}/execute/form", {"POST": _n(C, E)},
         {"POST": Sample(body={}, content_type="application/json")}, page=True),
    Rule("executions/", {"GET": LISTED}, {"GET": Sample(query="namespace={namespace}")}, page=True),
    Rule("executions/{execution_id}/", {"GET": _n(D)}, page=True),
    # WebSockets (apps/live): subscribing is reading
    Rule("ws/v1/executions/{execution_id}", {"GET": _n(LOGS)}, transport="ws"),
    Rule("ws/v1/executions", {"GET": LISTED}, transport="ws"),
)

FAMILIES: dict[str, str] = {
    "admin/": "Django's admin site: staff users only, enforced by Django itself",
}
"""Route prefixes owned by something else, covered as a whole (not exercised by the matrix)."""

BY_ROUTE: dict[str, Rule] = {rule.route: rule for rule in RULES}
_PARAM = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")


def canonical(pattern: str) -> str:
    """`api/v1/^executions/(?P<execution_id>[^/]+)/kill$` → `api/v1/executions/{execution_id}/kill`;
    the catch-all `^.*$` becomes `{unknown}`."""
    text = pattern.replace("^", "").replace("$", "").replace(".*", "{unknown}")
    return _PARAM.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", text)


def rule_for(route: str) -> Rule | None:
    return BY_ROUTE.get(route)


def need(route: str, method: str) -> Need | None:
    rule = BY_ROUTE.get(route)
    return rule.methods.get(method.upper()) if rule else None
