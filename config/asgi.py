"""ASGI entry point served by `weir server web` (uvicorn): HTTP and WebSockets.

HTTP goes through Django's *WSGI* handler on a thread pool, WebSockets through Channels
(docs/adr/0008, which re-measures docs/adr/0005 now that WebSockets are served). The SSE follow
streams (`GET …/executions/{id}/follow`, `GET …/logs/{id}/follow`) go through Django's *ASGI*
handler instead, so an open stream waits on the event loop rather than in one of the pool's
threads (docs/adr/0025).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.wsgi import get_wsgi_application

django_wsgi = get_wsgi_application()  # sets Django up before the consumers import models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.executions.api.views_follow import is_stream  # noqa: E402
from apps.live.auth import LiveAuthMiddleware  # noqa: E402
from apps.live.routing import websocket_urlpatterns  # noqa: E402


class StreamsApart:
    """HTTP: the follow streams to Django's ASGI handler, everything else to the WSGI pool."""

    def __init__(self, streams: Any, http: Any) -> None:
        self.streams, self.http = streams, http

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self.streams if is_stream(scope.get("method", ""), scope.get("path", "")) else self.http
        await app(scope, receive, send)


def application_for(wsgi_app: Any) -> ProtocolTypeRouter:
    """HTTP through `wsgi_app` on a thread pool (but the follow streams through Django's ASGI
    handler), WebSockets through Channels (tests wrap the WSGI app to serve static files)."""
    from django.core.asgi import get_asgi_application

    with warnings.catch_warnings():
        # uvicorn's own WSGI adapter is the one `--interface wsgi` used (ADR 0005's measurement);
        # it warns that it is deprecated in favour of a2wsgi, which is not a dependency.
        warnings.simplefilter("ignore", DeprecationWarning)
        from uvicorn.middleware.wsgi import WSGIMiddleware  # type: ignore[attr-defined]

        http = WSGIMiddleware(wsgi_app, workers=int(os.environ.get("WEIR_WEB_THREADS", "16")))
    return ProtocolTypeRouter({
        "http": StreamsApart(get_asgi_application(), http),
        "websocket": LiveAuthMiddleware(URLRouter(websocket_urlpatterns)),
    })


application = application_for(django_wsgi)
