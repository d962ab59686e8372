"""Accounts: the User model and hashed API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

TOKEN_PREFIX = "weir_"


class User(AbstractUser):
    """A person or a service account. Custom from day one so fields can be added later."""

    is_service_account = models.BooleanField(default=False)

    class Meta:
        db_table = "weir_user"


def hash_token(raw: str) -> str:
    """Tokens are high-entropy random strings, so a plain SHA-256 is enough at rest."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token. Only its hash is stored; the raw value is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a token in lists.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        db_table = "weir_api_token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Invitation(models.Model):
    """An OWNER's offer of a role on a namespace, redeemed once through a link carrying a random
    token. Only the token's hash is stored, as for API tokens."""

    email = models.EmailField()
    namespace = models.CharField(max_length=150)
    role = models.PositiveSmallIntegerField(help_text="apps.namespaces.models.Role")
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        db_table = "weir_invitation"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.namespace}"

    @property
    def role_label(self) -> str:
        from apps.namespaces.models import Role

        return str(Role(self.role).label)
