"""Token lifecycle: create (returns the raw value once), authenticate, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from apps.accounts.models import ApiToken, User, hash_token
from apps.audit.services import record


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


def create_token(user: User, name: str, expires_at: datetime | None = None) -> IssuedToken:
    """Create a token for `user`. The raw value exists only in the return value."""
    name = name.strip() or "token"
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[:12], digest=hash_token(raw), expires_at=expires_at
    )
    record(user, "token.create", namespace=None, target_type="token", target_id=str(token.pk),
           after={"name": token.name})
    return IssuedToken(token=token, raw=raw)


def user_for_token(raw: str) -> User | None:
    """The active user owning a valid, unrevoked, unexpired token, or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=hash_token(raw), revoked=False, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_token(user: User, token_id: int) -> bool:
    revoked = ApiToken.objects.filter(pk=token_id, user=user, revoked=False).update(revoked=True) > 0
    if revoked:
        record(user, "token.revoke", namespace=None, target_type="token", target_id=str(token_id))
    return revoked
