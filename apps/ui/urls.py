"""Page URLs. `flows/new/` comes before the `<namespace>/<id>` patterns it would otherwise match."""

from __future__ import annotations

from django.urls import path

from apps.ui import views, views_dashboard, views_executions, views_triggers

app_name = "ui"
urlpatterns = [
    path("", views.flows, name="flows"),
    path("flows/new/", views.flow_new, name="flow_new"),
    path("flows/<str:namespace>/<str:flow_id>/", views.flow_detail, name="flow"),
    path("flows/<str:namespace>/<str:flow_id>/edit/", views.flow_edit, name="flow_edit"),
    path("flows/<str:namespace>/<str:flow_id>/revisions/", views.flow_revisions, name="flow_revisions"),
    path("flows/<str:namespace>/<str:flow_id>/execute/", views_executions.flow_execute, name="flow_execute"),
    path("flows/<str:namespace>/<str:flow_id>/execute/form", views_executions.flow_execute_form,
         name="flow_execute_form"),
    path("executions/", views_executions.executions, name="executions"),
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("triggers/", views_triggers.triggers, name="triggers"),
    path("executions/<str:execution_id>/", views_executions.execution_detail, name="execution"),
]
