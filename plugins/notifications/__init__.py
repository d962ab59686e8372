"""Notifications: `io.kestra.plugin.notifications.{slack,teams,mail}.*` (PLUGINS.md §8)."""

from __future__ import annotations

from apps.plugins.sdk import Plugin
from plugins.notifications import mail, webhooks

PLUGINS: list[type[Plugin]] = [*webhooks.PLUGINS, *mail.PLUGINS]
