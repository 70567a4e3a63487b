"""The Sessions page: every signed-in browser listed, signed out one by one or everywhere,
and a revoked session refused even when its cookies come back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.bots.helpers import texts
from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import UserSession
from webapp.security.sessions import describe_user_agent

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def login(client, *, user_agent: str, remember: bool = False):
    data = {"email": "alice@example.com", "password": PASSWORD}
    if remember:
        data["remember_me"] = "y"
    response = client.post("/auth/login", data=data, headers={"User-Agent": user_agent})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (FIREFOX, "Firefox on Linux"),
        (IPHONE, "Safari on iOS"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on Windows",
        ),
        ("curl/8.5.0", "curl"),
        ("", "No browser name"),
    ],
)
def test_user_agents_get_a_readable_name(agent, name):
    assert str(describe_user_agent(agent)) == name


def test_the_page_lists_each_browser_and_signs_one_out(app, client, auth, other_client):
    auth.create_user()
    login(client, user_agent=FIREFOX)
    login(other_client, user_agent=IPHONE, remember=True)
    page = client.get("/security/sessions").get_data(as_text=True)
    rows = texts(page, "session-row")
    assert len(rows) == 2
    assert any("Firefox on Linux" in r and "this browser" in r for r in rows)
    assert any("Safari on iOS" in r and "this browser" not in r for r in rows)
    assert "127.0.0.1" in page

    phone = db.session.scalar(sa.select(UserSession).where(UserSession.user_agent == IPHONE))
    response = client.post(f"/security/sessions/{phone.id}/revoke")
    assert response.status_code == 302
    # The phone's cookie session and its remember-me cookie both name the revoked session.
    assert other_client.get("/").status_code == 302
    with other_client.session_transaction() as session:
        session.clear()  # as if the browser restarted and only the remember-me cookie is left
    assert other_client.get_cookie("remember_token") is not None
    assert other_client.get("/").status_code == 302
    assert len(texts(client.get("/security/sessions").get_data(as_text=True), "session-row")) == 1


def test_a_copied_cookie_is_refused_once_its_session_is_signed_out(app, client, auth):
    auth.create_user()
    login(client, user_agent=FIREFOX)
    cookie = client.get_cookie("session").value
    client.post("/auth/logout")
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/").status_code == 302


def test_sign_out_everywhere(client, auth, other_client):
    auth.create_user()
    login(client, user_agent=FIREFOX)
    login(other_client, user_agent=IPHONE)
    response = client.post("/security/sessions/revoke-all")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302
    assert other_client.get("/").status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(UserSession)
            .where(UserSession.revoked_at.is_(None))
        )
        == 0
    )


def test_a_password_reset_ends_every_session(client, auth, other_client):
    from webapp import accounts

    user = auth.create_user()
    login(other_client, user_agent=IPHONE, remember=True)
    accounts.reset_password(accounts.make_reset_token(user), "a-whole-new-pass-9")
    db.session.commit()
    assert other_client.get("/").status_code == 302
    with other_client.session_transaction() as session:
        session.clear()
    assert other_client.get("/").status_code == 302


def test_someone_elses_session_is_not_found(client, auth, other_client):
    auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": "bob@example.com", "password": PASSWORD})
    bobs = db.session.scalar(sa.select(UserSession))
    auth.register_and_login()
    assert client.post(f"/security/sessions/{bobs.id}/revoke").status_code == 404
    assert client.post("/security/sessions/99999/revoke").status_code == 404
    assert other_client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/security/sessions"),
        ("post", "/security/sessions/1/revoke"),
        ("post", "/security/sessions/revoke-all"),
    ],
)
def test_session_pages_need_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_daily_clean_up_forgets_sessions_that_can_never_be_used_again(app, client, auth):
    from datetime import timedelta

    from webapp.models.types import utcnow
    from workers.security import cleanup_audit

    user = auth.create_user()
    login(client, user_agent=FIREFOX)
    old = utcnow() - timedelta(days=40)
    for ua, seen, revoked in (
        ("gone", old, None),
        ("out", utcnow(), old),
        ("fresh", utcnow(), None),
    ):
        row = UserSession(user_id=user.id, token_hash=ua.ljust(64, "0"), user_agent=ua)
        row.password_fingerprint, row.last_seen_at, row.revoked_at = "x", seen, revoked
        db.session.add(row)
    db.session.commit()
    cleanup_audit()
    left = set(db.session.scalars(sa.select(UserSession.user_agent)))
    assert left == {FIREFOX, "fresh"}
    assert client.get("/").status_code == 200  # the session in use survives
