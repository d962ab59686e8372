"""`manage.py rotate_secrets`: re-encrypt every secret and SECRET input under the first key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.executions.records.sealed_inputs import rotate_all
from apps.secrets.crypto import InvalidToken


class Command(BaseCommand):
    help = "Re-encrypt namespace secrets and sealed SECRET inputs under the first WEIR_SECRET_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = rotate_all()
        except InvalidToken as exc:
            raise CommandError("a stored value opens with none of WEIR_SECRET_KEYS: add the key it was "
                               "encrypted with (after the new first key) and run again") from exc
        self.stdout.write(f"rotated {done.secrets} secret(s) and the SECRET inputs of {done.executions} execution(s)")
