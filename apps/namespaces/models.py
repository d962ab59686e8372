"""Namespaces as objects, and role bindings on them (DESIGN.md §7).

A namespace is named by its dotted path (`company.team`); its parent is the path without the
last segment. Rows exist for every ancestor of every namespace that holds something, so the tree
view needs no guessing. Bindings name the namespace by that path rather than by a foreign key:
`visible()` filters other tables by the same string, and the string is what users type.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q


class Role(models.IntegerChoices):
    """Lowest to highest; each role includes every lower one."""

    READ = 1, "READ"
    EXECUTE = 2, "EXECUTE"
    WRITE = 3, "WRITE"
    OWNER = 4, "OWNER"


class Namespace(models.Model):
    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True, default="")
    variables = models.JSONField(default=dict, blank=True,
                                 help_text="Inherited by children, which may override single keys.")
    plugin_defaults = models.JSONField(default=list, blank=True,
                                       help_text="Kestra pluginDefaults entries: {type, values, forced}.")
    allowed_namespaces = models.JSONField(
        default=list, blank=True,
        help_text="Namespaces (and their children) outside this tree that may call subflows or "
                  "trigger flows here; '*' allows every namespace.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        db_table = "weir_namespace"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def parent_name(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def depth(self) -> int:
        return self.name.count(".")

    @property
    def leaf(self) -> str:
        return self.name.rpartition(".")[2]


class Binding(models.Model):
    """Grants `role` on `namespace` and every child of it to one user (or service account) or
    one group. An empty `namespace` covers every namespace (Kestra's tenant-wide binding);
    only superusers create those."""

    namespace = models.CharField(max_length=150, db_index=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="namespace_bindings")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="namespace_bindings")
    role = models.PositiveSmallIntegerField(choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        db_table = "weir_namespace_binding"
        ordering = ["namespace", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(user__isnull=False, group__isnull=True)
                                   | Q(user__isnull=True, group__isnull=False), name="binding_one_subject"),
            models.UniqueConstraint(fields=["namespace", "user"], condition=Q(user__isnull=False),
                                    name="binding_user_once"),
            models.UniqueConstraint(fields=["namespace", "group"], condition=Q(group__isnull=False),
                                    name="binding_group_once"),
        ]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"group {self.group_id}"
        return f"{who} {Role(self.role).label} on {self.namespace or '*'}"
