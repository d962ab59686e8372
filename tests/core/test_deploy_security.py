"""Production settings: `check --deploy` is clean, the server refuses the development secret key,
and every page carries a Content-Security-Policy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.secretkey import DEFAULT_SECRET_KEY, InsecureSecretKey, local_key, refuse_default_key

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WEIR_", "PYTEST_")) and k not in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "WEIR_DATA_DIR": os.environ.get("TMPDIR", "/tmp")})
    env.update(extra)
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = _env(WEIR_SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="weir.example.com", WEIR_HTTPS="true",
               CSRF_TRUSTED_ORIGINS="https://weir.example.com", WEIR_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout
    assert "Warning" not in done.stdout + done.stderr and "W0" not in done.stdout + done.stderr


def test_check_deploy_still_flags_the_development_key(tmp_path: Path) -> None:
    env = _env(ALLOWED_HOSTS="weir.example.com", WEIR_HTTPS="true", WEIR_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "security.W009" in done.stderr + done.stdout


def test_the_server_refuses_the_development_key_outside_debug_mode(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "apps.cli.main", "server", "web", "--port", "1"],
                          cwd=ROOT, env=_env(WEIR_DATA_DIR=str(tmp_path)), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and "WEIR_SECRET_KEY" in done.stderr, done.stderr


def test_the_rule_itself() -> None:
    with pytest.raises(InsecureSecretKey, match="WEIR_SECRET_KEY"):
        refuse_default_key(DEFAULT_SECRET_KEY, debug=False)
    refuse_default_key(DEFAULT_SECRET_KEY, debug=True)
    refuse_default_key(secrets.token_urlsafe(50), debug=False)


def test_standalone_makes_its_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    first = local_key(tmp_path)
    assert len(first) >= 50 and first != DEFAULT_SECRET_KEY
    assert local_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/", "/flows/new/", "/executions/", "/api/docs/", "/account/tokens/",
                                 "/api/v1/flows/search", "/namespaces/"])
def test_every_page_has_a_content_security_policy(admin_client: Any, url: str) -> None:
    response = admin_client.get(url)
    assert response.status_code in (200, 302), url
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
