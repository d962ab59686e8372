"""What the audit log needs from a higher app, connected at start-up (docs/adr/0020).

Every app records into the audit log, so it sits below them all; reading it back is filtered by
namespace permissions, which belong to `apps.namespaces` above. That app connects `readable` in
`NamespacesConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apps.core.ports import Port

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from apps.audit.models import AuditEvent

readable: Port[Callable[[QuerySet[AuditEvent], Any], QuerySet[AuditEvent]]] = Port(
    "readable", "apps.namespaces.permissions")
"""The events of the queryset in namespaces the user may read (`visible(…, Action.READ)`)."""
