"""Namespace files: one row per version of a path; the content lives in the default storage,
addressed by its SHA-256 (identical contents are stored once)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NamespaceFile(models.Model):
    namespace = models.CharField(max_length=150)
    path = models.CharField(max_length=1024, help_text="Relative to the namespace's root: `dir/file.py`.")
    version = models.PositiveIntegerField()
    is_dir = models.BooleanField(default=False, help_text="An explicit (possibly empty) directory.")
    digest = models.CharField(max_length=64, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    deleted = models.BooleanField(default=False, help_text="This version records a deletion.")
    current = models.BooleanField(default=True, help_text="The latest version of the path.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        db_table = "weir_namespace_file"
        ordering = ["namespace", "path", "version"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "path", "version"], name="nsfile_version_once"),
            models.UniqueConstraint(fields=["namespace", "path"], condition=Q(current=True),
                                    name="nsfile_one_current"),
        ]
        indexes = [models.Index(fields=["namespace", "path"], condition=Q(current=True, deleted=False),
                                name="nsfile_live")]

    def __str__(self) -> str:
        return f"{self.namespace}:/{self.path}@{self.version}"
