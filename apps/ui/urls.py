"""Page URLs. `flows/new/` comes before the `<namespace>/<id>` patterns it would otherwise match."""

from __future__ import annotations

from django.urls import path

from apps.ui import views

app_name = "ui"
urlpatterns = [
    path("", views.flows, name="flows"),
    path("flows/new/", views.flow_new, name="flow_new"),
    path("flows/<str:namespace>/<str:flow_id>/", views.flow_detail, name="flow"),
    path("flows/<str:namespace>/<str:flow_id>/edit/", views.flow_edit, name="flow_edit"),
]
