"""Register, log in and out, remember me, throttling and password reset."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.support.services import body_text
from webapp.models import User


def test_register_logs_the_new_user_in(client, app):
    response = client.post(
        "/auth/register",
        data={"email": "New@Example.com ", "password": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "new@example.com" in page
    user = User.by_email("new@example.com")
    assert user is not None and user.password_hash != PASSWORD
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("password", "password2", "message"),
    [
        ("short1!", "short1!", "Use at least 10 characters (you used 7)."),
        ("onlyletterspassword", "onlyletterspassword", "Mix letters with at least one digit"),
        ("password123", "password123", "This password is too common"),
        ("aaaaaaaaaa1", "aaaaaaaaaa1", "Use at least 4 different characters."),
        ("alice-rules-2024", "alice-rules-2024", "Do not include your email address"),
        (PASSWORD, PASSWORD + "x", "The passwords do not match."),
    ],
)
def test_register_refuses_weak_passwords_with_a_clear_message(client, password, password2, message):
    response = client.post(
        "/auth/register",
        data={"email": "alice@example.com", "password": password, "password2": password2},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert User.by_email("alice@example.com") is None


def test_register_refuses_a_taken_email_and_a_bad_address(client, auth):
    auth.create_user("alice@example.com")
    response = client.post(
        "/auth/register",
        data={"email": "ALICE@example.com", "password": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    response = client.post(
        "/auth/register",
        data={"email": "not-an-email", "password": PASSWORD, "password2": PASSWORD},
    )
    assert "Enter a valid email address." in response.get_data(as_text=True)


def test_login_and_logout(client, auth):
    auth.create_user()
    response = auth.login()
    assert response.status_code == 302
    assert "alice@example.com" in client.get("/").get_data(as_text=True)
    assert auth.logout().status_code == 302
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_wrong_password_shows_an_error(client, auth):
    auth.create_user()
    response = auth.login(password="wrong-password-1")
    assert response.status_code == 422
    assert "Invalid email or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_local_next(client, auth):
    auth.create_user()
    data = {"email": "alice@example.com", "password": PASSWORD}
    response = client.post("/auth/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    auth.logout()
    response = client.post("/auth/login?next=/admin/", data=data)
    assert response.headers["Location"] == "/admin/"


def test_remember_me_sets_a_lasting_cookie(client, auth):
    auth.create_user()
    response = client.post(
        "/auth/login",
        data={"email": "alice@example.com", "password": PASSWORD, "remember_me": "y"},
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "Expires=" in c for c in cookies)


def test_ten_wrong_passwords_throttle_the_account(client, auth):
    auth.create_user()
    for _ in range(10):
        assert auth.login(password="wrong-password-1").status_code == 422
    # Even the right password is refused now, with a message saying what to do.
    response = auth.login()
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Too many failed logins for this account. Try again in 15 minutes" in text
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/").status_code == 302


def test_throttle_is_per_ip_too(app, client, auth):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 3
    auth.create_user()
    for i in range(3):
        auth.login(email=f"nobody{i}@example.com", password="wrong-password-1")
    response = auth.login()
    assert response.status_code == 429
    assert "Too many failed logins from your network" in response.get_data(as_text=True)


def test_successful_login_forgives_earlier_failures(client, auth):
    auth.create_user()
    for _ in range(9):
        auth.login(password="wrong-password-1")
    assert auth.login().status_code == 302
    auth.logout()
    for _ in range(9):
        auth.login(password="wrong-password-1")
    assert auth.login().status_code == 302


def _reset_link(smtp_server) -> str:
    [message] = smtp_server.wait_for(1)
    text = body_text(message)
    assert "html" in {part.get_content_subtype() for part in message.walk()}
    return re.search(r"http://testserver\.local(/auth/reset/confirm\?token=\S+)", text).group(1)


def test_password_reset_by_email(client, auth, smtp_server):
    auth.create_user()
    response = client.post("/auth/reset", data={"email": "alice@example.com"})
    assert response.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your Tradebots password"
    link = _reset_link(smtp_server)

    # The token leaves the URL at once: the form lives at a token-free address.
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/reset/confirm"
    form = client.get("/auth/reset/confirm")
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)

    new_password = "brand-new-secret-7"
    response = client.post(
        "/auth/reset/confirm", data={"password": new_password, "password2": new_password}
    )
    assert response.status_code == 302
    assert auth.login(password=PASSWORD).status_code == 422
    assert auth.login(password=new_password).status_code == 302
    auth.logout()

    # The link works once: the password it was made for has changed.
    client.get(link)
    response = client.get("/auth/reset/confirm")
    assert response.status_code == 302
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "invalid or has expired" in follow


def test_password_reset_does_not_reveal_accounts(client, smtp_server):
    response = client.post(
        "/auth/reset", data={"email": "ghost@example.com"}, follow_redirects=True
    )
    assert "If an account exists for that address" in response.get_data(as_text=True)
    assert smtp_server.messages == []


def test_expired_or_forged_reset_links_are_refused(client, auth, app, smtp_server):
    auth.create_user()
    client.post("/auth/reset", data={"email": "alice@example.com"})
    path = _reset_link(smtp_server)
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 302
    app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] = -1
    response = client.post(
        path, data={"password": "another-secret-9", "password2": "another-secret-9"}
    )
    assert response.status_code == 302
    assert auth.login().status_code == 302


def test_reset_weak_password_keeps_the_old_one(client, auth, smtp_server):
    auth.create_user()
    client.post("/auth/reset", data={"email": "alice@example.com"})
    client.get(_reset_link(smtp_server))
    response = client.post("/auth/reset/confirm", data={"password": "short", "password2": "short"})
    assert response.status_code == 422
    assert "Use at least 10 characters" in response.get_data(as_text=True)
    assert auth.login().status_code == 302


def test_reset_with_mail_server_down_says_so(client, auth, app):
    auth.create_user()
    app.config["MAIL_PORT"] = 1  # nothing listens there
    app.extensions["mail"].port = 1
    response = client.post("/auth/reset", data={"email": "alice@example.com"})
    assert response.status_code == 503
    assert "could not send the email" in response.get_data(as_text=True)


def test_a_new_password_logs_out_every_other_session(app, client, auth, other_client, smtp_server):
    auth.create_user()
    data = {"email": "alice@example.com", "password": PASSWORD, "remember_me": "y"}
    assert other_client.post("/auth/login", data=data).status_code == 302
    assert other_client.get("/").status_code == 200
    client.post("/auth/reset", data={"email": "alice@example.com"})
    client.get(_reset_link(smtp_server))
    new = "brand-new-secret-7"
    client.post("/auth/reset/confirm", data={"password": new, "password2": new})
    # Neither the session nor the 30-day remember-me cookie of the other browser works now.
    response = other_client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_reset_emails_are_throttled_per_account(app, client, auth, smtp_server):
    auth.create_user()
    app.config["PASSWORD_RESET_MAX_PER_ACCOUNT"] = 2
    for _ in range(4):
        response = client.post("/auth/reset", data={"email": "alice@example.com"})
        assert response.status_code == 302  # the same answer every time
    smtp_server.wait_for(2)
    assert len(smtp_server.messages) == 2


def test_passwords_are_stored_as_scrypt_hashes_outside_the_tests():
    from webapp.config import Config

    user = User(email="x@example.com")
    user.set_password(PASSWORD)  # no app context: the production default
    assert user.password_hash.startswith("scrypt:") and user.check_password(PASSWORD)
    assert Config.PASSWORD_HASH_METHOD == "scrypt"
