"""Root URL map: pages, the REST API under /api/v1, and its OpenAPI documentation."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apps.executions.api.ops_urls")),
    path("api/v1/", include("apps.executions.api.kestra_urls")),
    path("api/v1/", include("apps.executions.api.urls")),
    path("api/v1/", include("apps.triggers.api.urls")),
    path("api/v1/", include("apps.secrets.api_urls")),
    path("api/v1/", include("apps.audit.api_urls")),
    path("api/v1/", include("apps.namespaces.api_urls")),
    path("api/v1/", include("apps.files.api_urls")),
    path("api/v1/", include("apps.accounts.api_urls")),
    path("api/v1/", include("apps.core.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
         name="api-docs"),
    path("", include("apps.accounts.urls")),
    path("", include("apps.namespaces.urls")),
    path("", include("apps.secrets.urls")),
    path("", include("apps.executions.kv_urls")),
    path("", include("apps.files.urls")),
    path("", include("apps.audit.urls")),
    path("", include("apps.ui.urls")),
]

# A database outage answers 503 with Retry-After; any other unhandled error Django's 500 page.
handler500 = "apps.core.unavailable.server_error"
