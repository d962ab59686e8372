"""`manage.py ensure_admin`: create the first superuser if there is none.

The password comes from WEIR_ADMIN_PASSWORD; without it one is generated and printed once.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts.models import User


class Command(BaseCommand):
    help = "Create the first admin user (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("an admin user exists already")
            return
        username = os.environ.get("WEIR_ADMIN_USER", "admin")
        password = os.environ.get("WEIR_ADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(f"created admin user {username!r} with password: {password}")
            self.stdout.write("(shown once; set WEIR_ADMIN_PASSWORD to choose it)")
        else:
            self.stdout.write(f"created admin user {username!r} (password from WEIR_ADMIN_PASSWORD)")
