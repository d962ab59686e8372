"""Routes Kestra's clients use that Weir's own API did not have: bulk execution actions,
execution-level eval, a namespace's flow dependencies and the KV store (KESTRA.md §7.2-§7.4).

Included at `api/v1/` before `apps.executions.api.urls`. `/executions/{id}/follow` is not here but
one of that module's action words (apps/executions/api/dispatch.py): `GET` follows execution `id`, and
`POST` creates an execution of a flow named `follow`. Kestra 1.x's tenant-prefixed and
`actions/` forms reach these routes through apps/core/api/kestra1.py.
"""

from __future__ import annotations

from django.urls import path, re_path

from apps.executions.api import bulk, views_eval, views_follow, views_kv
from apps.flows.api.views import NamespaceDependencies

SEG = r"[^/]+"
EX = rf"(?P<execution_id>{SEG})"
NS = rf"(?P<namespace>{SEG})"

urlpatterns = [
    # Before `/executions/{namespace}/{flowId}` (apps.executions.api.urls), which would read
    # `/executions/restart/by-ids` as flow `by-ids` of namespace `restart`, as Kestra's own routing does.
    *(path(route, view) for route, view in bulk.views()),
    re_path(rf"^executions/{EX}/actions/eval$", views_eval.EvalExecution.as_view(), name="api-execution-eval"),
    re_path(rf"^logs/{EX}/follow$", views_follow.FollowLogs.as_view(), name="api-logs-follow"),
    re_path(rf"^namespaces/{NS}/dependencies$", NamespaceDependencies.as_view(), name="api-namespace-dependencies"),
    path("kv", views_kv.AllKeys.as_view(), name="api-kv"),
    re_path(rf"^namespaces/{NS}/kv$", views_kv.NamespaceKeys.as_view(), name="api-namespace-kv"),
    re_path(rf"^namespaces/{NS}/kv/inheritance$", views_kv.InheritedKeys.as_view(), name="api-namespace-kv-inherited"),
    re_path(rf"^namespaces/{NS}/kv/(?P<key>{SEG})$", views_kv.KeyValue.as_view(), name="api-namespace-kv-key"),
]
