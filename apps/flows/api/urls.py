"""/api/v1/flows… (KESTRA.md §7.1). Fixed paths come before `{namespace}` patterns."""

from __future__ import annotations

from django.urls import path, re_path

from apps.flows.api import bulk, drafts, views, views_csv

NS = r"(?P<namespace>[^/]+)"
ID = r"(?P<flow_id>[^/]+)"

urlpatterns = [
    path("", views.FlowCollection.as_view(), name="api-flows"),
    path("/search", views.FlowSearch.as_view(), name="api-flows-search"),
    path("/distinct-namespaces", views.DistinctNamespaces.as_view()),
    path("/validate", views.Validate.as_view(), name="api-flows-validate"),
    path("/graph", views.GraphOfSource.as_view(), name="api-flows-graph"),
    path("/drafts", drafts.DraftCollection.as_view(), name="api-flow-drafts"),
    path("/bulk", views.Bulk.as_view()),
    path("/import", views.Import.as_view()),
    path("/export/by-query", views.ExportByQuery.as_view()),
    path("/export/by-query/csv", views_csv.FlowsCsv.as_view()),
    path("/export/by-ids", views.ExportByIds.as_view()),
    path("/delete/by-ids", views.DeleteByIds.as_view()),
    path("/delete/by-query", bulk.DeleteByQuery.as_view()),
    path("/enable/by-ids", bulk.EnableByIds.as_view()),
    path("/enable/by-query", bulk.EnableByQuery.as_view()),
    path("/disable/by-ids", bulk.DisableByIds.as_view()),
    path("/disable/by-query", bulk.DisableByQuery.as_view()),
    re_path(rf"^/{NS}/{ID}/draft$", drafts.DraftDetail.as_view(), name="api-flow-draft"),
    re_path(rf"^/{NS}/{ID}/revisions$", views.FlowRevisions.as_view()),
    re_path(rf"^/{NS}/{ID}/graph$", views.FlowGraph.as_view()),
    re_path(rf"^/{NS}/{ID}/dependencies$", views.FlowDependencies.as_view()),
    re_path(rf"^/{NS}/{ID}/tasks/(?P<task_id>[^/]+)$", views.FlowTask.as_view()),
    re_path(rf"^/{NS}/{ID}$", views.FlowDetail.as_view(), name="api-flow"),
    re_path(rf"^/{NS}$", views.NamespaceFlows.as_view()),
]
