"""Namespaces and the one family of authorization functions (`can`, `visible`)."""
from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _forget_grants(**_: Any) -> None:
    from apps.namespaces.permissions import bump_generation

    bump_generation()


def _forget_listings(instance: Any, **_: Any) -> None:
    from apps.namespaces import reach

    reach.forget(instance.name)


class NamespacesConfig(AppConfig):
    name = "apps.namespaces"
    label = "namespaces"

    def ready(self) -> None:
        """Cached grants (permissions.grants) go stale when a binding or a group membership
        changes; these signals make every such change forget them in this process. The audit
        log, below this app, reads back through namespace permissions (apps/audit/ports.py)."""
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from apps.audit import ports as audit_ports
        from apps.namespaces.models import Binding, Namespace
        from apps.namespaces.permissions import readable

        audit_ports.readable.connect(readable)

        post_save.connect(_forget_grants, sender=Binding, dispatch_uid="weir-binding-saved")
        post_delete.connect(_forget_grants, sender=Binding, dispatch_uid="weir-binding-deleted")
        m2m_changed.connect(_forget_grants, sender=get_user_model().groups.through,
                            dispatch_uid="weir-groups-changed")
        post_delete.connect(_forget_grants, sender=get_user_model(), dispatch_uid="weir-user-deleted")
        # A flow's reach (reach.py) caches allowedNamespaces briefly: an edit is seen at once here.
        post_save.connect(_forget_listings, sender=Namespace, dispatch_uid="weir-namespace-listings-saved")
        post_delete.connect(_forget_listings, sender=Namespace, dispatch_uid="weir-namespace-listings-deleted")
