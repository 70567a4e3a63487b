"""Error pages and the admin page speak the reader's language; the JSON API's problems stay as
they are."""

from __future__ import annotations

import pytest

from tests.i18n.conftest import english_fragments, english_left, english_msgids, set_locale

SOURCES = ("templates/errors/error.html", "errors/handlers.py")


@pytest.mark.parametrize(
    ("locale", "title"), [("tr", "404 · Bulunamadı"), ("fr", "404 · Introuvable")]
)
def test_a_missing_page_says_so_in_the_users_language(client, auth, locale, title):
    user = auth.register_and_login()
    set_locale(user, locale)
    response = client.get("/bots/999999")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert title in page
    assert english_left(page, english_fragments(english_msgids(*SOURCES), locale)) == []


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_a_visitor_gets_the_browsers_language_on_error_pages(client, locale):
    page = client.get("/no-such-page", headers={"Accept-Language": locale}).get_data(as_text=True)
    assert {"tr": "Gösterge paneline dön", "fr": "Retour au tableau de bord"}[locale] in page
    assert "Back to the dashboard" not in page


def test_an_expired_form_is_told_in_the_users_language(app, client, auth):
    user = auth.register_and_login()
    set_locale(user, "fr")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/auth/logout", data={"csrf_token": "stale"})
    assert response.status_code == 400
    assert "jeton de sécurité" in response.get_data(as_text=True)


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_the_admin_page_speaks_the_admins_language(client, auth, locale):
    from tests.i18n.conftest import assert_translated

    admin = auth.register_and_login("boss@example.com", admin=True)
    page = assert_translated(
        client,
        admin,
        "/admin/",
        locale,
        # French spells the services the same; strategies show the names bots store.
        {
            "boss@example.com",
            "Redis",
            "Service",
            "Services",
            "ema_cross",
            "threshold",
            "signal",
            "grid",
            "dca",
        }
        | {"webapp.strategies"},
        sources=("templates/admin/index.html",),
    )
    assert {"tr": "Veritabanı", "fr": "Base de données"}[locale] in page
    assert {"tr": "Fiyat eşiği", "fr": "Seuil de prix"}[locale] in page  # a strategy's label
