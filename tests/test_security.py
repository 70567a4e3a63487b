"""CSRF on every state-changing request, login-required and admin-only pages, error pages."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from webapp.models import User

LOGIN_REQUIRED = ["/", "/admin/"]


def test_post_without_csrf_token_is_refused_and_changes_nothing(client):
    data = {"email": "mallory@example.com", "password": PASSWORD, "password2": PASSWORD}
    response = client.post("/auth/register", data=data, csrf=False)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert User.by_email("mallory@example.com") is None


def test_post_with_a_wrong_csrf_token_is_refused(client, auth):
    auth.register_and_login()
    response = client.post("/auth/logout", csrf=False, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_htmx_requests_carry_the_token_in_a_header(client, auth):
    """The page puts the token into hx-headers; htmx sends it as X-CSRFToken."""
    auth.register_and_login()
    page = client.get("/").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    response = client.post("/auth/logout", headers={"HX-Request": "true"})
    assert response.status_code == 302


@pytest.mark.parametrize("path", LOGIN_REQUIRED)
def test_pages_require_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_admin_page_is_for_admins_only(client, auth, other_client):
    auth.register_and_login("user@example.com")
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "You do not have access to this page." in response.get_data(as_text=True)

    auth.create_user("boss@example.com", admin=True)
    other_client.post("/auth/login", data={"email": "boss@example.com", "password": PASSWORD})
    page = other_client.get("/admin/").get_data(as_text=True)
    assert "user@example.com" in page and "boss@example.com" in page


def test_admin_link_shows_for_admins_only(client, auth):
    auth.register_and_login("user@example.com")
    assert 'href="/admin/"' not in client.get("/").get_data(as_text=True)
    User.by_email("user@example.com").is_admin = True
    from webapp.extensions import db

    db.session.commit()
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)


def test_dashboard_shows_only_the_current_user(client, auth, other_client):
    auth.register_and_login("alice@example.com")
    auth.create_user("bob@example.com")
    other_client.post("/auth/login", data={"email": "bob@example.com", "password": PASSWORD})
    bob_page = other_client.get("/").get_data(as_text=True)
    assert "bob@example.com" in bob_page
    assert "alice@example.com" not in bob_page


def test_friendly_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is nothing here" in response.get_data(as_text=True)


def test_friendly_500_page(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("kaboom with a secret")

    response = client.get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Something went wrong" in text
    assert "kaboom" not in text


def test_logout_requires_post(client, auth):
    auth.register_and_login()
    assert client.get("/auth/logout").status_code == 405


def test_expired_session_sends_htmx_to_the_login_page(client):
    response = client.get("/", headers={"HX-Request": "true", "HX-Target": "bot-rows"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/login?next=/")
    assert response.get_data(as_text=True) == ""


def test_every_response_refuses_framing_and_keeps_referrers_home(client):
    response = client.get("/auth/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_ids_too_large_for_any_database_are_404(client, auth):
    auth.register_and_login()
    assert client.get("/bots/99999999999999999999999").status_code == 404
