"""Namespace secrets: encryption at rest, key rotation, inheritance, and `secret()` at run time."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from apps.executions.runtime.runcontext import RenderServices
from apps.secrets import crypto
from apps.secrets import services as secrets
from apps.secrets.models import Secret
from apps.secrets.sealing import seal, unseal

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture
def root(make_user: Any) -> Any:
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture
def keys(settings: Any) -> Iterator[Any]:
    """Switch `WEIR_SECRET_KEYS` inside a test; the ring follows the setting."""
    def use(*values: str) -> None:
        settings.WEIR_SECRET_KEYS = list(values)

    yield use
    crypto.reset()


@pytest.mark.django_db
def test_a_secret_is_stored_encrypted(root: Any) -> None:
    secrets.set_secret(root, "acme", "db_password", "hunter2-very-secret")
    row = Secret.objects.get(namespace="acme")
    assert row.name == "DB_PASSWORD"
    assert "hunter2" not in row.ciphertext
    assert crypto.decrypt(row.ciphertext) == "hunter2-very-secret"


@pytest.mark.django_db
def test_rotation_re_encrypts_secrets_and_secret_inputs_under_the_first_key(root: Any, keys: Any) -> None:
    from apps.executions.models import Execution

    keys(KEY_A)
    secrets.set_secret(root, "acme", "TOKEN", "rotate-me")
    sealed = seal("input-value")
    Execution.objects.create(id="e1", namespace="acme", flow_id="f", flow_revision=1, original_id="e1",
                             inputs={"token": sealed, "name": "plain"})
    keys(KEY_B, KEY_A)
    call_command("rotate_secrets")
    keys(KEY_B)
    assert secrets.lookup("acme", "TOKEN") == "rotate-me"
    rotated = Execution.objects.get(id="e1").inputs
    assert rotated["name"] == "plain" and rotated["token"] != sealed and unseal(rotated["token"]) == "input-value"
    keys(KEY_A)
    with pytest.raises(crypto.InvalidToken):
        secrets.lookup("acme", "TOKEN")


def test_a_passphrase_key_is_stretched_and_the_default_comes_from_secret_key(settings: Any, keys: Any) -> None:
    keys("correct horse battery staple")
    token = crypto.encrypt("x")
    keys()
    settings.SECRET_KEY = "some-django-key"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)
    assert crypto.decrypt(crypto.encrypt("y")) == "y"


@pytest.mark.django_db
def test_children_inherit_and_may_override(root: Any) -> None:
    secrets.set_secret(root, "acme", "SHARED", "from-acme")
    secrets.set_secret(root, "acme", "ONLY_ROOT", "root-only")
    secrets.set_secret(root, "acme.data", "SHARED", "from-data")
    secrets.set_secret(root, "acmecorp", "ONLY_ROOT", "look-alike")
    assert secrets.lookup("acme.data.raw", "shared") == "from-data"
    assert secrets.lookup("acme.other", "SHARED") == "from-acme"
    assert secrets.lookup("acme.data", "ONLY_ROOT") == "root-only"
    assert secrets.lookup("acmecorp.x", "SHARED") is None
    listed = {e.key: e for e in secrets.list_secrets(root, "acme.data")}
    assert listed["SHARED"].namespace == "acme.data" and not listed["SHARED"].inherited
    assert listed["ONLY_ROOT"].namespace == "acme" and listed["ONLY_ROOT"].inherited


@pytest.mark.django_db
def test_secret_reads_the_store_first_then_the_environment(root: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SECRET_API_KEY", base64.b64encode(b"from-env").decode())
    monkeypatch.setenv("SECRET_ONLY_ENV", base64.b64encode(b"env\nvalue").decode())
    services = RenderServices("acme.data")
    assert services.secret("API_KEY") == "from-env"
    secrets.set_secret(root, "acme", "API_KEY", "from-store")
    assert services.secret("api_key") == "from-store"
    assert services.secret("ONLY_ENV") == "env\nvalue"
    with pytest.raises(KeyError, match="Cannot find secret for key 'MISSING'"):
        services.secret("MISSING")


@pytest.mark.django_db
def test_an_expression_reads_a_namespace_secret(root: Any) -> None:
    from apps.engine.expressions import render

    secrets.set_secret(root, "acme", "GREETING", "hello from the store")
    text = render("{{ secret('GREETING') | upper }}", {"flow": {"namespace": "acme.data"}},
                  services=RenderServices("acme.data"))
    assert text == "HELLO FROM THE STORE"
