"""Encryption at rest for stored secrets (exchange API keys and secrets).

ENCRYPTION_KEY holds one or more Fernet keys, newest first. Encryption always uses the newest;
decryption tries each in turn, so adding a new key in front keeps every stored value readable
until `flask keys rotate` re-encrypts it with the new one and the old key can be removed.
"""

from __future__ import annotations

import logging

from cryptography.fernet import InvalidToken, MultiFernet
from flask import current_app

from webapp.config import parse_encryption_keys

logger = logging.getLogger(__name__)

_CACHE_KEY = "crypto.multifernet"


class CryptoError(Exception):
    """Base class for encryption failures. Messages never hold plaintext or key material."""


class DecryptionError(CryptoError):
    """A stored value could not be decrypted with any configured ENCRYPTION_KEY."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "A stored secret could not be decrypted with any ENCRYPTION_KEY: it is corrupt, "
            "or the key that encrypted it was removed before `flask keys rotate` ran."
        )


def _multifernet() -> MultiFernet:
    """The app's MultiFernet, rebuilt only when ENCRYPTION_KEY changes (tests, key rotation)."""
    raw = current_app.config["ENCRYPTION_KEY"]
    cached = current_app.extensions.get(_CACHE_KEY)
    if cached is not None and cached[0] == raw:
        return cached[1]
    fernet = MultiFernet(parse_encryption_keys(raw))
    current_app.extensions[_CACHE_KEY] = (raw, fernet)
    return fernet


def encrypt(plaintext: str) -> str:
    """Encrypt with the newest key; the token is ASCII text safe to store in any column."""
    return _multifernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt with whichever configured key made the token."""
    try:
        plaintext = _multifernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError, TypeError, AttributeError):
        raise DecryptionError() from None
    from webapp.logs import remember_secret

    remember_secret(plaintext)  # whatever we decrypt is a secret: keep it out of the logs
    return plaintext


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (keeping its original timestamp)."""
    try:
        return _multifernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError, TypeError, AttributeError):
        raise DecryptionError() from None
