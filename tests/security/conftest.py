"""Helpers for the security tests: turning two-factor on through the page, making codes."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.bots.helpers import text, texts
from tests.conftest import PASSWORD


def code_for(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator shows now (or `steps_ahead` 30-second steps later)."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + 30 * steps_ahead)


class TwoFactor:
    def __init__(self, client, auth) -> None:
        self.client = client
        self.auth = auth

    def enable(self) -> tuple[str, list[str]]:
        """Turn two-factor on for the signed-in user as a person would: read the key from the
        set-up page and answer with a code. Returns the secret and the recovery codes."""
        page = self.client.get("/security/2fa/setup").get_data(as_text=True)
        secret = text(page, "totp-secret")
        response = self.client.post("/security/2fa/setup", data={"code": code_for(secret)})
        assert response.status_code == 200, response.get_data(as_text=True)
        codes = texts(response.get_data(as_text=True), "recovery-codes")[0].split()
        return secret, codes

    def login(self, email: str, code: str, password: str = PASSWORD):
        first = self.auth.login(email, password)
        assert first.headers["Location"].startswith("/security/login/code"), first.status_code
        return self.client.post("/security/login/code", data={"code": code})

    def make_stale(self, seconds: int = 601) -> None:
        """Pretend the password was last checked `seconds` ago."""
        with self.client.session_transaction() as session:
            session["auth_checked_at"] = int(time.time()) - seconds


@pytest.fixture
def two_factor(client, auth) -> TwoFactor:
    return TwoFactor(client, auth)
