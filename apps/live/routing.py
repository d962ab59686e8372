"""WebSocket routes (mounted by config/asgi.py)."""

from __future__ import annotations

from django.urls import re_path

from apps.live import consumers

websocket_urlpatterns = [
    re_path(r"^ws/v1/executions/(?P<execution_id>[^/]+)$", consumers.ExecutionConsumer.as_asgi()),
    re_path(r"^ws/v1/executions$", consumers.ExecutionListConsumer.as_asgi()),
]
