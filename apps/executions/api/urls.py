"""/api/v1/executions…, /api/v1/logs…, /api/v1/metrics… (KESTRA.md §7.2, §7.3).

Included at `api/v1/` before the catch-all of `apps.core.api.urls`. As in Kestra, a two-segment
path whose second segment is an action word (`/executions/{id}/pause`) is that action, and any
other two-segment POST creates an execution of the flow `/executions/{namespace}/{flowId}`; when
the second segment is an action word *and* names a flow the caller may read while no execution
of that id is readable, the flow is executed (`dispatch.py` holds the one rule).
"""

from __future__ import annotations

from django.urls import include, path, re_path

from apps.executions.api import (
    dispatch,
    stats,
    stats_flows,
    views,
    views_csv,
    views_flow,
    views_lists,
    views_logs,
    views_metrics,
)

SEG = r"[^/]+"
EX = rf"(?P<execution_id>{SEG})"
NS = rf"(?P<namespace>{SEG})"
FLOW = rf"(?P<flow_id>{SEG})"
TASK = rf"(?P<task_id>{SEG})"
METRIC = rf"(?P<metric>{SEG})"

urlpatterns = [
    # The Webhook trigger's endpoint is the triggers app's (it sits beside executions, and
    # executions never import it); routed here, first, as Kestra places it under /executions.
    path("", include("apps.triggers.api.webhook_views")),
    path("executions", views.FlowExecutions.as_view(), name="api-executions"),
    path("executions/search", views.ExecutionSearch.as_view(), name="api-executions-search"),
    path("executions/export/by-query/csv", views_csv.ExecutionsCsv.as_view()),
    path("executions/namespaces", views_lists.ExecutableNamespaces.as_view()),
    re_path(rf"^executions/namespaces/{NS}/flows$", views_lists.ExecutableFlows.as_view()),
    re_path(rf"^executions/namespaces/{NS}/flows/{FLOW}/average-duration$", views_lists.AverageDuration.as_view()),
    path("executions/latest", views_lists.Latest.as_view()),
    path("executions/distinct-field-values", views_lists.DistinctFieldValues.as_view()),
    re_path(rf"^executions/trigger/{NS}/{FLOW}$", views.CreateExecution.as_view()),
    *(re_path(rf"^executions/{EX}/{word}$", dispatch.action(word)) for word in dispatch.ACTIONS),
    re_path(rf"^executions/{EX}/resume/validate$", dispatch.resume_validate()),
    re_path(rf"^executions/{EX}/file/metas$", views.ExecutionFileMetas.as_view()),
    re_path(rf"^executions/{EX}/eval/(?P<task_run_id>{SEG})$", dispatch.eval_or_validate()),
    re_path(rf"^executions/{EX}/file/preview$", views.ExecutionFilePreview.as_view()),
    re_path(rf"^executions/{NS}/{FLOW}/validate$", views.ValidateInputs.as_view()),
    re_path(rf"^executions/flows/{NS}/{FLOW}$", views_flow.FlowForExecution.as_view()),
    re_path(rf"^executions/{NS}/{FLOW}$", views.CreateExecution.as_view(), name="api-execution-create"),
    re_path(rf"^executions/{EX}$", views.ExecutionDetail.as_view(), name="api-execution"),
    path("stats/executions/daily", stats.ExecutionsDaily.as_view(), name="api-stats-executions-daily"),
    path("stats/flows/timeline", stats_flows.FlowsTimeline.as_view(), name="api-stats-flows-timeline"),
    path("logs/search", views_logs.LogSearch.as_view(), name="api-logs-search"),
    re_path(rf"^logs/{EX}/download$", views_logs.DownloadLogs.as_view(), name="api-logs-download"),
    re_path(rf"^logs/{EX}$", views_logs.ExecutionLogs.as_view(), name="api-logs"),
    re_path(rf"^metrics/names/{NS}/{FLOW}$", views_metrics.FlowMetricNames.as_view()),
    re_path(rf"^metrics/names/{NS}/{FLOW}/{TASK}$", views_metrics.TaskMetricNames.as_view()),
    re_path(rf"^metrics/tasks/{NS}/{FLOW}$", views_metrics.TasksWithMetrics.as_view()),
    re_path(rf"^metrics/aggregates/{NS}/{FLOW}/{METRIC}$", views_metrics.FlowMetricAggregates.as_view()),
    re_path(rf"^metrics/aggregates/{NS}/{FLOW}/{TASK}/{METRIC}$", views_metrics.TaskMetricAggregates.as_view()),
    re_path(rf"^metrics/{EX}$", views_logs.ExecutionMetrics.as_view(), name="api-metrics"),
]
