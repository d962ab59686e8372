"""Test settings: the real services when DATABASE_URL/REDIS_URL point at them, else SQLite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Not the development default, which `weir server web` refuses: servers that tests start get this
# key too (WEIR_SECRET_KEY in their environment), so sessions and namespace secrets agree.
SECRET_KEY = os.environ.get("WEIR_SECRET_KEY") or "weir-test-suite-key-used-only-by-tests-and-their-servers"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file rather than memory: tests that serve the app from a thread (live views, browser)
    # share the test database with the test's thread, and in-memory SQLite's shared-cache locks
    # fail at once ("database table is locked") instead of waiting.
    DATABASES["default"]["TEST"]["NAME"] = str(Path(tempfile.gettempdir()) / f"weir-test-{os.getpid()}.sqlite3")
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]  # noqa: F405
