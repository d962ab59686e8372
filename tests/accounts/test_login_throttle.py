"""Logins are throttled per account and per address (django-axes) and every attempt is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEvent

PASSWORD = "right-password-1"


def _post(client: Client, username: str, password: str, ip: str = "10.0.0.1", **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


@pytest.fixture
def alice(make_user: Callable[..., Any]) -> Any:
    user = make_user("alice")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_with_the_right_password(alice: Any, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _post(client, "alice", "wrong").status_code == 200  # the form again, with its error
    locked = _post(client, "alice", "wrong")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # From another address, with the right password: the account is locked.
    again = _post(Client(), "alice", PASSWORD, ip="10.9.9.9")
    assert again.status_code == 429 and "_auth_user_id" not in Client().session
    json_answer = _post(Client(), "alice", PASSWORD, ip="10.9.9.8", HTTP_ACCEPT="application/json")
    assert json_answer.status_code == 429 and "too many failed sign-ins" in json_answer.json()["message"]
    # Another account from a fresh address is not affected.
    assert _post(Client(), "nobody-else", "x", ip="10.7.7.7").status_code == 200


@pytest.mark.django_db
def test_one_address_trying_many_accounts_is_locked(alice: Any, settings: Any) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        _post(Client(), f"guess{i}", "wrong", ip="10.6.6.6")
    assert _post(Client(), "alice", PASSWORD, ip="10.6.6.6").status_code == 429
    assert _post(Client(), "alice", PASSWORD, ip="10.5.5.5").status_code == 302  # alice herself is fine


@pytest.mark.django_db
def test_a_success_resets_the_count(alice: Any, settings: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _post(Client(), "alice", "wrong")
    assert _post(Client(), "alice", PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _post(Client(), "alice", "wrong").status_code == 200


@pytest.mark.django_db
def test_every_login_attempt_is_audited(alice: Any, settings: Any) -> None:
    client = Client()
    _post(client, "alice", "wrong", ip="10.1.1.1")
    _post(client, "ghost", "wrong", ip="10.1.1.2")
    assert _post(client, "alice", PASSWORD, ip="10.1.1.3").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        _post(Client(), "alice", "wrong", ip="10.1.1.4")
    events = list(AuditEvent.objects.filter(action__startswith="login.").order_by("id"))
    summary = [(e.action, e.actor_name, e.actor_id == alice.pk, e.after["ip"]) for e in events[:3]]
    assert summary == [("login.failure", "alice", True, "10.1.1.1"), ("login.failure", "ghost", False, "10.1.1.2"),
                       ("login.success", "alice", True, "10.1.1.3")]
    # The failure that reaches the limit and the attempt refused afterwards are lockouts.
    assert [e.action for e in events[3:]] == ["login.failure"] * (settings.AXES_FAILURE_LIMIT - 1) + \
        ["login.lockout"] * 2
    assert all(PASSWORD not in str(e.after) and "wrong" not in str(e.after) for e in events)
    # Readable through the audit API by a superuser, and by alice for her own events.
    admin = Client()
    admin.force_login(alice.__class__.objects.create_superuser("root", "", "x"))
    listed = admin.get("/api/v1/audit?action=login.").json()
    assert listed["total"] == len(events)
