"""Invitations: an OWNER offers a role on a namespace to an email address; the one-time link
makes the binding for whoever redeems it (an existing user, or a new account made on the spot).

The link goes out through Django's email backend. Until one is configured (the defaults: SMTP on
localhost), the inviter gets the link in the reply to pass on themselves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.forms import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Invitation, User, hash_token
from apps.audit.services import record
from apps.core.errors import NotFound, Problem, Unprocessable
from apps.namespaces import services as namespaces
from apps.namespaces.models import Binding, Role
from apps.namespaces.permissions import Action, require

VALID_FOR = timedelta(days=7)
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def mail_configured() -> bool:
    """False for Django's out-of-the-box SMTP-on-localhost, which nobody has set up on purpose."""
    backend = getattr(settings, "EMAIL_BACKEND", SMTP)
    return backend != SMTP or getattr(settings, "EMAIL_HOST", "localhost") not in ("", "localhost")


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    link: str
    mailed: bool

    def as_json(self) -> dict[str, Any]:
        # The link is a credential: it is shown only when it could not be mailed.
        return {**as_json(self.invitation), "mailed": self.mailed, "link": None if self.mailed else self.link}


def as_json(inv: Invitation) -> dict[str, Any]:
    return {"id": inv.pk, "email": inv.email, "namespace": inv.namespace, "role": Role(inv.role).label,
            "created": inv.created_at.isoformat(), "expires": inv.expires_at.isoformat(),
            "accepted": inv.accepted_at.isoformat() if inv.accepted_at else None}


def invite(user: Any, namespace: str, email: str, role: Role, base_url: str) -> Sent:
    namespaces.get(user, namespace)
    require(user, Action.OWNER, namespace)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise Unprocessable(f"invalid email {email!r}", [Problem(path="email", message="a valid email address")]) \
            from exc
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        inv = Invitation.objects.create(email=email, namespace=namespace, role=role, digest=hash_token(raw),
                                        invited_by=user, expires_at=timezone.now() + VALID_FOR)
        record(user, "invitation.create", namespace=namespace, target_type="invitation", target_id=str(inv.pk),
               after={"email": email, "role": Role(role).label})
    link = base_url.rstrip("/") + reverse("invitation", args=[raw])
    mailed = mail_configured()
    if mailed:
        send_mail(f"You are invited to {namespace} on Weir",
                  f"{user.get_username()} invites you to the namespace {namespace} as {Role(role).label}.\n\n"
                  f"Open this link to accept (valid for {VALID_FOR.days} days, once):\n{link}\n",
                  None, [email])
    return Sent(inv, link, mailed)


def pending(user: Any, namespace: str) -> list[Invitation]:
    namespaces.get(user, namespace)
    require(user, Action.OWNER, namespace)
    return list(Invitation.objects.filter(namespace=namespace, accepted_at__isnull=True,
                                          expires_at__gt=timezone.now()))


def open_invitation(raw: str) -> Invitation:
    """The unused, unexpired invitation behind a link; anything else is simply not found."""
    inv = Invitation.objects.filter(digest=hash_token(raw), accepted_at__isnull=True,
                                    expires_at__gt=timezone.now()).first()
    if inv is None:
        raise NotFound("this invitation link is unknown, used or expired")
    return inv


def accept(raw: str, user: User) -> Binding:
    """Redeem the link for `user`: bind the role (keeping a higher one they already hold there)."""
    with transaction.atomic():
        inv = Invitation.objects.select_for_update().filter(pk=open_invitation(raw).pk,
                                                            accepted_at__isnull=True).first()
        if inv is None:
            raise NotFound("this invitation link is unknown, used or expired")
        namespaces.ensure_namespace(inv.namespace)
        binding, _ = Binding.objects.get_or_create(namespace=inv.namespace, user=user,
                                                   defaults={"role": inv.role, "created_by": inv.invited_by})
        if binding.role < inv.role:
            binding.role = inv.role
            binding.save(update_fields=["role"])
        inv.accepted_at, inv.accepted_by = timezone.now(), user
        inv.save(update_fields=["accepted_at", "accepted_by"])
        record(user, "invitation.accept", namespace=inv.namespace, target_type="invitation",
               target_id=str(inv.pk), after={"role": Role(binding.role).label})
    return binding
