"""Re-encrypt everything under the first key of `WEIR_SECRET_KEYS` (apps/secrets/README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from apps.executions.models import Execution
from apps.executions.secrets_mask import SEALED_PREFIX
from apps.secrets import crypto
from apps.secrets.models import Secret
from apps.secrets.sealing import rotate_inputs


@dataclass(frozen=True)
class Rotated:
    secrets: int
    executions: int


def rotate_all(batch: int = 500) -> Rotated:
    """Every namespace secret and every sealed SECRET input, one row at a time under its lock.

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
    executions = 0
    sealed = Execution.objects.annotate(text=Cast("inputs", TextField())).filter(text__contains=SEALED_PREFIX)
    for execution_id in sealed.values_list("pk", flat=True).iterator(chunk_size=batch):
        with transaction.atomic():
            ex = Execution.objects.select_for_update().only("inputs").get(pk=execution_id)
            inputs, changed = rotate_inputs(ex.inputs)
            if changed:
                Execution.objects.filter(pk=execution_id).update(inputs=inputs)
                executions += 1
    return Rotated(secrets=secrets, executions=executions)
