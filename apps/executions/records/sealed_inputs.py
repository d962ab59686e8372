"""Re-encrypt the sealed SECRET inputs of executions under the first key of `WEIR_SECRET_KEYS`.

The rows are executions'; the envelope format and the keys are the secrets app's
(`apps.secrets.sealing.rotate_inputs`). `rotate_all` is what `manage.py rotate_secrets` runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from apps.executions.models import Execution
from apps.secrets.masking import SEALED_PREFIX
from apps.secrets.rotation import rotate_secrets
from apps.secrets.sealing import rotate_inputs


@dataclass(frozen=True)
class Rotated:
    secrets: int
    executions: int


def rotate_sealed_inputs(batch: int = 500) -> int:
    """Every execution whose inputs hold a sealed value, one row at a time under its lock; the
    number of executions changed. Raises `InvalidToken` like `rotate_secrets`."""
    executions = 0
    sealed = Execution.objects.annotate(text=Cast("inputs", TextField())).filter(text__contains=SEALED_PREFIX)
    for execution_id in sealed.values_list("pk", flat=True).iterator(chunk_size=batch):
        with transaction.atomic():
            ex = Execution.objects.select_for_update().only("inputs").get(pk=execution_id)
            inputs, changed = rotate_inputs(ex.inputs)
            if changed:
                Execution.objects.filter(pk=execution_id).update(inputs=inputs)
                executions += 1
    return executions


def rotate_all(batch: int = 500) -> Rotated:
    """The namespace secrets first, then the sealed SECRET inputs (the order rotation always had)."""
    secrets = rotate_secrets(batch)
    return Rotated(secrets=secrets, executions=rotate_sealed_inputs(batch))
