"""Encryption at rest for secrets and SECRET inputs: Fernet under a key ring (DESIGN.md §7).

`WEIR_SECRET_KEYS` is a list: the first key encrypts, every key decrypts (MultiFernet), so a
key is rotated by putting a new one first and running `manage.py rotate_secrets`, then dropping
the old one. A key is either a Fernet key (32 url-safe base64 bytes) or any passphrase, which is
stretched with SHA-256. With no key configured, one is derived from Django's SECRET_KEY so a
laptop install works with no set-up; changing SECRET_KEY then makes stored secrets unreadable,
which is why production sets WEIR_SECRET_KEYS explicitly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "key_ring", "reset", "rotate"]


def _fernet(key: str) -> Fernet:
    try:
        if len(base64.urlsafe_b64decode(key.encode())) == 32:
            return Fernet(key.encode())
    except (binascii.Error, ValueError):
        pass
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def configured_keys() -> list[str]:
    keys = [k for k in getattr(settings, "WEIR_SECRET_KEYS", []) if k]
    return keys or ["weir-secrets:" + settings.SECRET_KEY]


@lru_cache(maxsize=4)
def _ring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(k) for k in keys])


def key_ring() -> MultiFernet:
    """The ring for the keys configured now (settings may change in tests)."""
    return _ring(tuple(configured_keys()))


def reset() -> None:
    _ring.cache_clear()


def encrypt(plaintext: str) -> str:
    return key_ring().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Raises `InvalidToken` when no configured key opens `token` (or it was tampered with)."""
    return key_ring().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """The same plaintext, encrypted under the first key."""
    return key_ring().rotate(token.encode("ascii")).decode("ascii")
