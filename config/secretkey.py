"""The secret key: the development default, the refusal to serve with it, standalone's own key.

Django signs sessions, CSRF tokens and password-reset links with SECRET_KEY, and Weir derives
the key that encrypts namespace secrets from it when WEIR_SECRET_KEYS is unset: a server that
runs with the key printed in this file lets anyone forge a session. Tests and one-off commands
may use it; `weir server web` refuses it unless WEIR_DEBUG is on, and `weir standalone` (the
zero-configuration laptop mode) makes a random key once and keeps it in its data directory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_SECRET_KEY = "django-insecure-weir-development-key-change-me"
KEY_FILE = "secret_key"


class InsecureSecretKey(RuntimeError):
    """The server was asked to start outside debug mode with the development key."""


def refuse_default_key(secret_key: str, debug: bool) -> None:
    """Raise `InsecureSecretKey` when `secret_key` is the development default and `debug` is off."""
    if debug or secret_key != DEFAULT_SECRET_KEY:
        return
    raise InsecureSecretKey(
        "refusing to start: WEIR_SECRET_KEY is not set, and the built-in development key would let "
        "anyone forge sessions. Set WEIR_SECRET_KEY to a long random value (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or WEIR_DEBUG=true on a "
        "development machine.")


def local_key(data_dir: Path) -> str:
    """The key kept in `data_dir/secret_key`, made (random, readable by its owner only) the first time."""
    path = data_dir / KEY_FILE
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
