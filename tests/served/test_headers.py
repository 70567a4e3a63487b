"""Values a person controls that reach a response header (the login redirect), and
characters no header or column can hold, through the app as gunicorn serves it."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/bots/", "/bots/"),
        ("/trades/?side=buy", "/trades/?side=buy"),
        ("/\N{GRINNING FACE}", "/%F0%9F%98%80"),  # sent as a URI, not raw UTF-8
        ("/x\r\nSet-Cookie: evil=1", "/"),
        ("/x\nX-Injected: 1", "/"),
        ("/\u202etxt.exe", "/"),
        ("/\\evil.example", "/"),  # browsers read "/\\" as "//": another host
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/[", "/%5B"),
        ("http://[::1", "/"),
    ],
)
def test_the_login_redirect_goes_only_to_a_clean_local_path(served, auth, next_url, location):
    auth.create_user()
    client = served.client()
    client.csrf_token()
    response = client.submit(
        "/auth/login",
        {"email": "alice@example.com", "password": PASSWORD},
        params={"next": next_url},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == location
    assert "Set-Cookie: evil" not in str(response.headers) and "X-Injected" not in response.headers


def test_a_nul_character_in_an_address_is_not_found(web):
    assert web.get("/notifications/abc%00def").status_code == 404


@pytest.mark.parametrize("path", ["/trades/?side=buy%00", "/auth/login?next=/%00"])
def test_a_nul_character_is_refused_with_a_message(web, path):
    response = web.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.text


def test_a_nul_character_in_a_form_saves_nothing(web):
    response = web.submit("/keys/", {"exchange": "binance", "label": "a\x00b", "api_key": "K"})
    assert response.status_code == 400
    assert "NUL character" in response.text


def test_the_favicon_is_served_and_linked(served):
    client = served.client()
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/auth/login").text
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert client.get("/static/favicon.svg").headers["Content-Type"].startswith("image/svg+xml")
