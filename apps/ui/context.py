"""Template context: where the Vite build put the islands' files."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest


@lru_cache(maxsize=1)
def _manifest(path: str, mtime: float) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text())
        return data
    except (OSError, ValueError):
        return {}


def frontend(request: HttpRequest) -> dict[str, Any]:
    path = Path(settings.WEIR_FRONTEND_MANIFEST)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return {"vite_manifest": _manifest(str(path), mtime)}
