"""ASGI entry point, for ASGI servers and (with the live-view issue) WebSockets via Channels.

`weir server web` currently serves HTTP through `config.wsgi` instead: see docs/adr/0005.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
