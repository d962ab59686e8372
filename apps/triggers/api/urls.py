"""/api/v1/triggers… (KESTRA.md §7.6). Fixed words (`search`, `backfill`, `set-disabled`,
`preview`) are matched before the `{namespace}/{flowId}` patterns."""

from __future__ import annotations

from django.urls import path, re_path

from apps.triggers.api import views, views_csv

SEG = r"[^/]+"
NS = rf"(?P<namespace>{SEG})"
FLOW = rf"(?P<flow_id>{SEG})"
BULK = (("unlock", "unlock"), ("backfill/pause", "pause-backfill"), ("backfill/unpause", "unpause-backfill"),
        ("backfill/delete", "delete-backfill"))
"""Kestra's path of each bulk operation (by-triggers, by-query) and its use case (services.BULK)."""

urlpatterns = [
    path("triggers", views.UpdateTrigger.as_view(), name="api-triggers"),
    path("triggers/search", views.TriggerSearch.as_view(), name="api-triggers-search"),
    path("triggers/preview", views.Preview.as_view(), name="api-triggers-preview"),
    path("triggers/backfill/pause", views.BackfillPause.as_view(), name="api-triggers-backfill-pause"),
    path("triggers/backfill/unpause", views.BackfillUnpause.as_view(), name="api-triggers-backfill-unpause"),
    path("triggers/backfill/delete", views.BackfillDelete.as_view(), name="api-triggers-backfill-delete"),
    path("triggers/backfill/create", views.BackfillCreate.as_view()),
    path("triggers/set-disabled", views.SetDisabled.as_view()),
    path("triggers/set-disabled/by-triggers", views.SetDisabledByTriggers.as_view()),
    path("triggers/set-disabled/by-query", views.SetDisabledByQuery.as_view()),
    path("triggers/export/by-query/csv", views_csv.TriggersCsv.as_view()),
    path("triggers/delete/by-triggers", views.DeleteByTriggers.as_view()),
    path("triggers/delete/by-query", views.DeleteByQuery.as_view()),
    *(path(f"triggers/{prefix}/by-triggers", views.ByTriggers.as_view(operation=operation))
      for prefix, operation in BULK),
    *(path(f"triggers/{prefix}/by-query", views.ByQuery.as_view(operation=operation)) for prefix, operation in BULK),
    re_path(rf"^triggers/{NS}/{FLOW}/(?P<trigger_id>{SEG})/unlock$", views.Unlock.as_view()),
    re_path(rf"^triggers/{NS}/{FLOW}/(?P<trigger_id>{SEG})/restart$", views.Restart.as_view()),
    re_path(rf"^triggers/{NS}/{FLOW}/(?P<trigger_id>{SEG})$", views.TriggerDetail.as_view()),
    re_path(rf"^triggers/{NS}/{FLOW}$", views.FlowTriggers.as_view(), name="api-flow-triggers"),
]
