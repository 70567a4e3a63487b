"""Two-factor sign-in: set-up from the page, codes at sign-in, replay, recovery codes,
throttling, REQUIRE_2FA and re-authentication before sensitive actions."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from tests.api.conftest import ApiClient, new_token
from tests.conftest import PASSWORD
from tests.security.conftest import code_for
from webapp.extensions import db
from webapp.models import RecoveryCode, TotpCredential


def test_setup_shows_a_server_drawn_qr_code_and_the_key_and_needs_a_valid_code(
    client, auth, two_factor
):
    user = auth.register_and_login()
    page = client.get("/security/2fa/setup").get_data(as_text=True)
    assert "<svg" in page and 'data-testid="totp-qr"' in page
    assert "http" not in page.split('data-testid="totp-qr"')[1].split("</figure>")[0]
    wrong = client.post("/security/2fa/setup", data={"code": "000000"})
    assert wrong.status_code == 422
    assert "That code is not valid" in wrong.get_data(as_text=True)
    assert "Off" in client.get("/security/").get_data(as_text=True)

    secret, codes = two_factor.enable()
    assert len(codes) == 10 and len(set(codes)) == 10
    row = db.session.get(TotpCredential, user.id)
    assert row.enabled_at is not None and secret not in row.secret_encrypted
    stored = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    page = client.get("/security/").get_data(as_text=True)
    assert "10 recovery codes left" in page
    assert codes[0] not in page  # shown once, never again


def test_sign_in_asks_for_the_code_and_a_code_works_only_once(client, auth, two_factor):
    auth.register_and_login()
    secret, _codes = two_factor.enable()
    auth.logout()

    first = auth.login()
    assert first.status_code == 302 and first.headers["Location"] == "/security/login/code"
    assert client.get("/").status_code == 302  # the password alone signs nobody in

    code = code_for(secret, 1)
    response = client.post("/security/login/code", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "alice@example.com" in client.get("/").get_data(as_text=True)
    auth.logout()

    replay = two_factor.login("alice@example.com", code)
    assert replay.status_code == 422
    assert "used already" in replay.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_recovery_code_signs_in_once(client, auth, two_factor):
    auth.register_and_login()
    _secret, codes = two_factor.enable()
    auth.logout()
    response = two_factor.login("alice@example.com", codes[3].upper())
    assert response.status_code == 302
    assert "9 left" in client.get("/").get_data(as_text=True)
    auth.logout()
    again = two_factor.login("alice@example.com", codes[3])
    assert again.status_code == 422


def test_wrong_codes_are_throttled_and_the_password_does_not_reset_the_count(
    app, client, auth, two_factor
):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    auth.register_and_login()
    secret, _codes = two_factor.enable()
    auth.logout()
    for _ in range(2):
        assert two_factor.login("alice@example.com", "123456").status_code == 422
    # Signing in with the right password again must not forgive the wrong codes.
    assert two_factor.login("alice@example.com", "654321").status_code == 422
    throttled = two_factor.login("alice@example.com", code_for(secret))
    assert throttled.status_code == 429
    assert "Too many failed logins" in throttled.get_data(as_text=True)
    assert int(throttled.headers["Retry-After"]) > 0


def test_require_2fa_sends_users_without_it_to_the_setup_but_not_api_clients(
    app, client, auth, two_factor
):
    app.config["REQUIRE_2FA"] = True
    user = auth.register_and_login()
    response = client.get("/bots/")
    assert response.status_code == 302 and response.headers["Location"] == "/security/2fa/setup"
    api = ApiClient(client, new_token(user))
    assert api.get("/api/v1/me").status_code == 200
    two_factor.enable()
    assert client.get("/bots/").status_code == 200


SENSITIVE = [
    ("/security/2fa/disable", {}),
    ("/keys/", {"exchange": "binance", "label": "x", "api_key": "k", "api_secret": "s"}),
    ("/tokens/", {"name": "ci", "scopes": ["read"], "expires": "30"}),
    ("/security/data/export", {}),
    ("/security/email", {"email": "new@example.com"}),
]


def test_sensitive_actions_ask_to_confirm_once_the_last_check_is_old(client, auth, two_factor):
    from webapp.models import ApiKey, ApiToken

    user = auth.register_and_login()
    secret, _codes = two_factor.enable()
    two_factor.make_stale()
    for path, data in SENSITIVE:
        response = client.post(path, data=data, headers={"Referer": "http://localhost/security/"})
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/security/confirm?next="), path
    # Nothing was done.
    assert db.session.get(TotpCredential, user.id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0

    confirm = response.headers["Location"]
    page = client.post(confirm, data={"password": PASSWORD})
    assert page.status_code == 422  # the code is needed too when two-factor is on
    wrong = client.post(confirm, data={"password": "wrong-password-1", "code": code_for(secret, 1)})
    assert wrong.status_code == 422 and "not your password" in wrong.get_data(as_text=True)
    ok = client.post(confirm, data={"password": PASSWORD, "code": code_for(secret, 1)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/security/"
    created = client.post("/tokens/", data=SENSITIVE[2][1])
    assert created.status_code == 200 and "tb_" in created.get_data(as_text=True)


def test_turning_two_factor_off_after_confirming(client, auth, two_factor):
    auth.register_and_login()
    two_factor.enable()
    response = client.post("/security/2fa/disable")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert "Off" in client.get("/security/").get_data(as_text=True)
    auth.logout()
    assert auth.login().headers["Location"] == "/"


def test_changing_the_password_signs_out_other_sessions(app, client, auth, other_client):
    auth.register_and_login()
    other_client.post("/auth/login", data={"email": "alice@example.com", "password": PASSWORD})
    assert other_client.get("/").status_code == 200
    new = "another-horse-77"
    wrong = client.post(
        "/security/password",
        data={"current_password": "nope-nope-123", "password": new, "password2": new},
    )
    assert wrong.status_code == 422
    response = client.post(
        "/security/password",
        data={"current_password": PASSWORD, "password": new, "password2": new},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other_client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/security/"),
        ("get", "/security/2fa/setup"),
        ("post", "/security/2fa/setup"),
        ("post", "/security/2fa/disable"),
        ("post", "/security/2fa/recovery-codes"),
        ("get", "/security/confirm"),
        ("post", "/security/password"),
        ("post", "/security/email"),
        ("get", "/security/activity"),
        ("get", "/security/data"),
        ("post", "/security/data/export"),
        ("post", "/security/data/delete"),
        ("get", "/security/admin/audit"),
        ("get", "/security/admin/trading"),
        ("post", "/security/admin/trading/halt"),
        ("post", "/security/admin/trading/stop-all"),
        ("post", "/bots/stop-all"),
    ],
)
def test_security_pages_need_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_second_step_needs_the_password_step_first(client, auth):
    auth.create_user()
    response = client.post("/security/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"


def test_rotating_the_encryption_key_keeps_two_factor_working(
    app, client, auth, two_factor, runner, encryption_key
):
    from cryptography.fernet import Fernet

    auth.register_and_login()
    secret, _codes = two_factor.enable()
    auth.logout()
    new_key = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEY"] = f"{new_key},{encryption_key}"
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "Re-encrypted 1 two-factor secrets." in result.output
    app.config["ENCRYPTION_KEY"] = new_key  # the old key is gone
    assert two_factor.login("alice@example.com", code_for(secret, 1)).status_code == 302


def test_changing_the_email(client, auth):
    from webapp.models import AuditEvent, User

    auth.create_user("bob@example.com")
    user = auth.register_and_login()
    taken = client.post("/security/email", data={"email": "BOB@example.com"})
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    bad = client.post("/security/email", data={"email": "not-an-email"})
    assert bad.status_code == 422
    response = client.post("/security/email", data={"email": " New@Example.com "})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@example.com"
    assert (
        db.session.scalar(
            sa.select(AuditEvent.description).where(AuditEvent.action == "email_changed")
        )
        == "Email changed from alice@example.com."
    )
    auth.logout()
    assert auth.login("new@example.com").status_code == 302
