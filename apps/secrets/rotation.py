"""Re-encrypt the namespace secrets under the first key of `WEIR_SECRET_KEYS` (apps/secrets/README.md).

Sealed SECRET inputs live on executions' rows: `apps.executions.records.sealed_inputs` rotates
them with `sealing.rotate_inputs`, and `manage.py rotate_secrets` runs both.
"""

from __future__ import annotations

from django.db import transaction

from apps.secrets import crypto
from apps.secrets.models import Secret


def rotate_secrets(batch: int = 500) -> int:
    """Every namespace secret, one row at a time under its lock; the number rotated.

    A token no configured key opens raises `InvalidToken`: keep the old key in the list until
    rotation has finished, then remove it.
    """
    crypto.reset()
    secrets = 0
    for pk in Secret.objects.values_list("pk", flat=True).iterator(chunk_size=batch):
        with transaction.atomic():
            row = Secret.objects.select_for_update().get(pk=pk)
            row.ciphertext = crypto.rotate(row.ciphertext)
            row.save(update_fields=["ciphertext"])
            secrets += 1
    return secrets
