"""Namespace secrets, stored encrypted (apps/secrets/README.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Secret(models.Model):
    """One named secret of one namespace; `ciphertext` is a Fernet token (see `crypto`)."""

    namespace = models.CharField(max_length=150)
    name = models.CharField(max_length=100)
    ciphertext = models.TextField()
    description = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        db_table = "weir_secret"
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="secret_ns_name_unique")]
        ordering = ["namespace", "name"]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class DerivedSecret(models.Model):
    """A value an execution computed from a secret (`secret('x') | reverse`…), kept encrypted so a
    process that never ran the task masks it too (`derived.py`). `digest` (SHA-256 of the value)
    makes recording idempotent; no foreign key, so recording never waits on the execution row lock."""

    execution_id = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    ciphertext = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "weir_derived_secret"
        constraints = [models.UniqueConstraint(fields=["execution_id", "digest"], name="derived_secret_unique")]

    def __str__(self) -> str:
        return f"{self.execution_id}/{self.digest[:12]}"
