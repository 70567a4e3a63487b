"""Which language a page speaks: the account's choice, else the browser's, else English."""

from __future__ import annotations

import re

import pytest

from webapp.extensions import db
from webapp.models import User

FR_BROWSER = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def html_lang(response) -> str:
    [lang] = re.findall(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    return lang


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        (None, "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr"),
        ("tr-TR", "tr"),
        ("de-DE,tr;q=0.4,fr;q=0.8", "fr"),
        ("de-DE,ja;q=0.8", "en"),
    ],
)
def test_a_visitor_gets_the_browsers_language_among_ours(client, accept, lang):
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/auth/login", headers=headers)
    assert response.status_code == 200
    assert html_lang(response) == lang


def test_login_page_speaks_the_browsers_language(client):
    page = client.get("/auth/login", headers=FR_BROWSER).get_data(as_text=True)
    assert "<h1>Se connecter</h1>" in page
    assert "Mot de passe oublié ?" in page
    page = client.get("/auth/login", headers={"Accept-Language": "tr"}).get_data(as_text=True)
    assert "<h1>Giriş yap</h1>" in page


def test_the_users_setting_beats_the_browser(client, auth):
    user = auth.register_and_login()
    assert html_lang(client.get("/", headers=FR_BROWSER)) == "fr"  # no setting yet: browser
    user.locale = "tr"
    db.session.commit()
    response = client.get("/", headers=FR_BROWSER)
    assert html_lang(response) == "tr"
    assert "Gösterge paneli" in response.get_data(as_text=True)


def test_an_unknown_stored_language_falls_back_to_the_browser(client, auth):
    user = auth.register_and_login()
    user.locale = "xx"
    db.session.commit()
    assert html_lang(client.get("/", headers=FR_BROWSER)) == "fr"


def switch(client, locale: str, next_url: str = "/auth/login", **kwargs):
    return client.post("/language", data={"locale": locale, "next": next_url}, **kwargs)


def test_footer_switch_is_on_every_page_and_returns_to_it(client, auth):
    page = client.get("/auth/register?x=1").get_data(as_text=True)
    assert 'action="/language"' in page
    assert 'name="next" value="/auth/register?x=1"' in page
    assert "Türkçe" in page and "Français" in page
    auth.register_and_login()
    page = client.get("/").get_data(as_text=True)
    assert 'action="/language"' in page
    assert '<option lang="en" selected value="en">English</option>' in page


def test_footer_switch_on_a_page_a_post_rendered_returns_where_a_get_works(client):
    page = client.post("/auth/login", data={}).get_data(as_text=True)  # the form, with errors
    assert 'name="next" value="/auth/login"' in page


def test_footer_switch_on_a_page_only_a_post_reaches_returns_to_the_dashboard(app):
    from webapp.templating import return_path

    with app.test_request_context("/bots/1/start", method="POST"):
        assert return_path() == "/"
    with app.test_request_context("/bots/new", method="POST"):
        assert return_path() == "/bots/new"
    with app.test_request_context("/no/such/page", method="POST"):
        assert return_path() == "/"
    with app.test_request_context("/bots/new?\x00", method="GET"):
        assert return_path() == "/"


def test_error_pages_of_any_method_carry_the_switch(client):
    for method in ("GET", "POST", "DELETE"):
        response = client.open("/no/such/page", method=method)
        assert response.status_code in {404, 405}
        assert 'action="/language"' in response.get_data(as_text=True)
    response = client.post("/healthz")  # GET only
    assert response.status_code == 405
    assert 'name="next" value="/healthz"' in response.get_data(as_text=True)


def test_switch_signed_out_keeps_the_choice_in_the_session(client):
    response = switch(client, "tr", "/auth/register", headers=FR_BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/register"
    page = client.get("/auth/register", headers=FR_BROWSER)
    assert html_lang(page) == "tr"
    assert "<h1>Hesap oluşturun</h1>" in page.get_data(as_text=True)
    assert '<option lang="tr" selected value="tr">Türkçe</option>' in page.get_data(as_text=True)


def test_switch_signed_in_saves_it_on_the_account(client, auth, other_client):
    user = auth.register_and_login()
    response = switch(client, "fr", "/")
    assert response.headers["Location"] == "/"
    assert db.session.get(User, user.id).locale == "fr"
    assert html_lang(client.get("/", headers={"Accept-Language": "tr"})) == "fr"
    # Another browser of the same user speaks French once signed in, whatever it asks for.
    other_client.post("/auth/login", data={"email": user.email, "password": "correct-horse-42"})
    assert html_lang(other_client.get("/", headers={"Accept-Language": "tr"})) == "fr"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_switch_never_redirects_off_site(client, target):
    response = switch(client, "tr", target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert html_lang(client.get("/auth/login")) == "tr"  # the choice itself still counts


def test_switch_refuses_a_language_we_do_not_have(client):
    response = switch(client, "de", "/auth/login", headers=FR_BROWSER)
    assert response.headers["Location"] == "/auth/login"
    page = client.get("/auth/login", headers=FR_BROWSER)
    assert html_lang(page) == "fr"
    assert "Cette langue n’est pas disponible." in page.get_data(as_text=True)


def test_switch_needs_the_csrf_token(client, auth):
    user = auth.register_and_login()
    response = switch(client, "tr", "/", csrf=False)
    assert response.status_code == 400
    assert db.session.get(User, user.id).locale is None
