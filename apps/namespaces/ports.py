"""What namespaces need from the apps above them, connected at start-up (docs/adr/0020).

Accounts, flows and every app with rows in a namespace import this app (permissions, the
namespace rows), so it cannot import them back. Deleting a namespace asks whether flows still
name it; the members page and API offer invitations, which are accounts' rows and mail.
`FlowsConfig.ready()` and `AccountsConfig.ready()` connect these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apps.core.ports import Port

if TYPE_CHECKING:
    from apps.namespaces.models import Role

holds_flows: Port[Callable[[str], bool]] = Port("holds_flows", "apps.flows.services")
"""Whether any flow, even a deleted one, is in exactly this namespace."""

pending_invitations: Port[Callable[[Any, str], list[Any]]] = Port(
    "pending_invitations", "apps.accounts.invitations")
"""The namespace's open invitations, for an OWNER (`invitations.pending`)."""

invitation_json: Port[Callable[[Any], dict[str, Any]]] = Port("invitation_json", "apps.accounts.invitations")
"""One invitation as the API shows it (`invitations.as_json`)."""

invite: Port[Callable[[Any, str, str, Role, str], Any]] = Port("invite", "apps.accounts.invitations")
"""Invite an email address to a role (`invitations.invite`: user, namespace, email, role, site URL)."""
