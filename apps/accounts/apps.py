from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        """Registers the bearer-token OpenAPI scheme; connects the invitations the namespace
        members page and API offer (apps/namespaces/ports.py)."""
        from apps.accounts import invitations, schema  # noqa: F401  (schema registers the scheme)
        from apps.namespaces import ports

        ports.pending_invitations.connect(invitations.pending)
        ports.invitation_json.connect(invitations.as_json)
        ports.invite.connect(invitations.invite)
