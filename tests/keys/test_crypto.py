"""Encryption at rest with ENCRYPTION_KEY, and rotating to a new key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from webapp import crypto

PLAINTEXT = "StestSecretAlpha-9f8e7d6c5b4a3210"


def test_round_trip_hides_the_plaintext(app):
    token = crypto.encrypt(PLAINTEXT)
    assert PLAINTEXT not in token
    assert crypto.encrypt(PLAINTEXT) != token  # random IV: equal secrets look different
    assert crypto.decrypt(token) == PLAINTEXT


def test_a_wrong_key_raises_our_error_without_key_material(app, encryption_key):
    token = crypto.encrypt(PLAINTEXT)
    other = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEY"] = other
    with pytest.raises(crypto.DecryptionError) as caught:
        crypto.decrypt(token)
    text = str(caught.value)
    assert "could not be decrypted" in text
    for material in (PLAINTEXT, token, other, encryption_key):
        assert material not in text
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("not a token at all")


def test_rotation_re_encrypts_with_the_newest_key(app, encryption_key):
    old_token = crypto.encrypt(PLAINTEXT)
    new_key = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEY"] = f"{new_key},{encryption_key}"
    assert crypto.decrypt(old_token) == PLAINTEXT  # old tokens still readable
    new_token = crypto.rotate(old_token)
    app.config["ENCRYPTION_KEY"] = new_key
    assert crypto.decrypt(new_token) == PLAINTEXT
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old_token)
