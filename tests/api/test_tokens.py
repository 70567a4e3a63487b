"""Personal access tokens: made on the page or with the CLI, shown once, stored as a hash,
revocable, and refused at once when revoked, expired or their user is gone."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.api.conftest import ApiClient, new_token
from tests.bots.helpers import text, texts
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.models.types import utcnow
from webapp.tokens import service

TOKEN = re.compile(r"tb_[A-Za-z0-9_-]{43}")


def created_token(page: str) -> str:
    return text(page, "token-value")


def test_the_page_shows_a_new_token_once_then_only_its_prefix(client, auth):
    auth.register_and_login()
    page = client.post(
        "/tokens/", data={"name": "Grafana", "scopes": ["read"], "expires": "90"}
    ).get_data(as_text=True)
    token = created_token(page)
    assert TOKEN.fullmatch(token)
    assert len(base64.urlsafe_b64decode(token[3:] + "=")) >= 32  # 32 random bytes
    row = db.session.scalar(sa.select(ApiToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(str(v) for v in row.__dict__.values())
    assert row.scopes == "read" and row.name == "Grafana"
    assert timedelta(days=89) < row.expires_at - utcnow() <= timedelta(days=90)

    later = client.get("/tokens/").get_data(as_text=True)
    assert token not in later
    assert f"{token[:11]}…" in later
    assert "never" in " ".join(texts(later, "token-row"))  # not used yet


def test_the_page_refuses_a_token_without_name_or_scope(client, auth):
    auth.register_and_login()
    response = client.post("/tokens/", data={"name": "", "scopes": [], "expires": "30"})
    assert response.status_code == 422
    assert "Give the token a name" in response.get_data(as_text=True)
    response = client.post("/tokens/", data={"name": "x", "expires": "30"})
    assert response.status_code == 422
    assert "Choose at least one scope" in response.get_data(as_text=True)
    response = client.post("/tokens/", data={"name": "x", "scopes": ["read"], "expires": "7"})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_the_tokens_page_is_in_the_nav_and_needs_login(client, auth):
    assert client.get("/tokens/").status_code == 302
    auth.register_and_login()
    assert 'href="/tokens/"' in client.get("/").get_data(as_text=True)


def test_last_use_time_and_address_are_shown(app, client, auth):
    user = auth.register_and_login()
    token = new_token(user, "read")
    api = ApiClient(app.test_client(), token)
    assert api.get("/api/v1/me", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200
    row = db.session.scalar(sa.select(ApiToken))
    assert row.last_used_ip == "203.0.113.7"
    assert utcnow() - row.last_used_at < timedelta(seconds=30)
    assert "from 203.0.113.7" in client.get("/tokens/").get_data(as_text=True)


def test_a_revoked_token_gets_401_at_once(app, client, auth):
    user = auth.register_and_login()
    api = ApiClient(app.test_client(), new_token(user))
    assert api.get("/api/v1/me").status_code == 200
    row = db.session.scalar(sa.select(ApiToken))
    page = client.post(f"/tokens/{row.id}/revoke", follow_redirects=True).get_data(as_text=True)
    assert "revoked" in page
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_gets_401(app, alice):
    token = new_token(alice, days=30)
    api = ApiClient(app.test_client(), token)
    assert api.get("/api/v1/me").status_code == 200
    row = db.session.scalar(sa.select(ApiToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_a_deleted_users_token_gets_401(app, alice):
    api = ApiClient(app.test_client(), new_token(alice))
    assert api.get("/api/v1/me").status_code == 200
    db.session.delete(db.session.get(User, alice.id))
    db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_someone_elses_token_cannot_be_revoked(client, auth, bob):
    new_token(bob)
    auth.register_and_login()
    row = db.session.scalar(sa.select(ApiToken))
    assert client.post(f"/tokens/{row.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, row.id).revoked_at is None


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dGI6eA==",
        "Bearer tb_" + "x" * 43,
        "Bearer tb_short",
        "Bearer " + "é" * 46,
    ],
)
def test_without_a_valid_token_it_is_401(client, alice, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_does_not_open_the_api(client, auth):
    auth.register_and_login()
    assert client.get("/").status_code == 200  # signed in to the pages
    response = client.get("/api/v1/me")
    assert response.status_code == 401


def test_a_token_never_signs_in_to_a_page(app, alice):
    token = new_token(alice)
    browser = app.test_client()
    response = browser.get("/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_api_answers_set_no_cookie(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    response = api.post("/api/v1/bots", json={})
    assert "Set-Cookie" not in response.headers


def test_the_cli_prints_a_working_token(app, runner, alice):
    result = runner.invoke(
        args=[
            "tokens",
            "create",
            "alice@example.com",
            "--name",
            "cron",
            "--scope",
            "read,trade",
            "--days",
            "90",
        ]
    )
    assert result.exit_code == 0, result.output
    token = TOKEN.search(result.stdout).group(0)
    me = ApiClient(app.test_client(), token).get("/api/v1/me").get_json()
    assert me["email"] == "alice@example.com"
    assert me["token"]["scopes"] == ["read", "trade"]
    assert me["token"]["name"] == "cron"

    listed = runner.invoke(args=["tokens", "list"]).output
    assert token[:11] in listed and token not in listed
    row = db.session.scalar(sa.select(ApiToken))
    assert runner.invoke(args=["tokens", "revoke", str(row.id)]).exit_code == 0
    assert ApiClient(app.test_client(), token).get("/api/v1/me").status_code == 401


def test_the_cli_refuses_unknown_scopes_and_users(runner, alice):
    result = runner.invoke(args=["tokens", "create", "alice@example.com", "--name", "x",
                                 "--scope", "admin"])  # fmt: skip
    assert result.exit_code != 0 and "Unknown scope admin" in result.output
    result = runner.invoke(args=["tokens", "create", "nobody@example.com", "--name", "x"])
    assert result.exit_code != 0 and "No account" in result.output
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_scopes_are_parsed_strictly():
    assert [s.value for s in service.parse_scopes(" Trade , read ")] == ["read", "trade"]
    with pytest.raises(service.InvalidTokenInput):
        service.parse_scopes("")
