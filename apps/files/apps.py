from __future__ import annotations

from django.apps import AppConfig


class FilesConfig(AppConfig):
    """Namespace files: versioned per path, stored through Django's storage API."""

    name = "apps.files"
    label = "files"
