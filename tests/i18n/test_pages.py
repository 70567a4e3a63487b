"""Translated pages carry no English UI text, and their figures follow the locale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.bots.helpers import add_trade, make_bot, text
from tests.i18n.conftest import (
    english_fragments,
    english_left,
    english_msgids,
    same_as_english,
    visible_text,
)
from webapp.extensions import db
from webapp.models import BotStatus

LAYOUT = ("templates/base.html", "templating.py", "i18n/forms.py")
DASHBOARD = (
    *LAYOUT,
    "templates/main/index.html",
    "templates/bots/_macros.html",
    "templates/bots/_stop_all.html",
    "bots/display.py",
)
AUTH = (
    *LAYOUT,
    "templates/_forms.html",
    "templates/auth/login.html",
    "templates/auth/register.html",
    "templates/auth/reset_request.html",
    "templates/auth/reset_password.html",
    "auth/forms.py",
    "auth/routes.py",
    "accounts/errors.py",
    "accounts/passwords.py",
)
#: WTForms' own messages for the validators these forms use (WTForms ships their catalogs).
WTFORMS_ENGLISH = {"This field is required.", "Field cannot be longer than"}


#: Shown the same in every language: the brand, the languages' own names, user data, symbols.
SAME_IN_EVERY_LANGUAGE = {
    "Tradebots",
    "English",
    "Türkçe",
    "Français",
    "Trend BTC",
    "Dip ETH",
    "Broken",
    "Broken too",
    "BTC/USDT",
    "ETH/USDT",
    "BTC",
    "alice@example.com",
}
#: Words the language's catalog spells as English does.
SAME = {
    "tr": {"Bot"},
    "fr": {"Bot", "Bots", "Position", "Notifications", "Backtests"},
}


def test_the_english_lists_are_not_empty():
    """The checks below compare against what is marked; an empty list would prove nothing."""
    assert {"Dashboard", "Bots running", "Win rate", "Stop all my bots"} <= english_msgids(
        *DASHBOARD
    )
    assert {"Log in", "Forgot your password?", "Remember me"} <= english_msgids(*AUTH)
    assert "Tableau" not in english_fragments(english_msgids(*DASHBOARD), "fr")
    assert "Bots running" in english_fragments(english_msgids(*DASHBOARD), "fr")
    assert "Bots running" in english_left(
        "<p>Bots running</p>", english_fragments(english_msgids(*DASHBOARD), "fr")
    )


def as_user(user, locale: str) -> None:
    user.locale = locale
    db.session.commit()


def busy_dashboard(user) -> None:
    """Every part of the dashboard on screen: bots in each status, a position, trades, the
    error banner and the chart."""
    running = make_bot(
        user,
        None,
        "Trend BTC",
        status=BotStatus.RUNNING,
        state_position_qty=Decimal("0.5"),
        state_position_avg_price=Decimal("61234.5"),
    )
    make_bot(user, None, "Dip ETH", symbol="ETH/USDT")
    make_bot(user, None, "Broken", status=BotStatus.ERROR)
    make_bot(user, None, "Broken too", status=BotStatus.ERROR)
    add_trade(running, "buy", "1", "1000")
    add_trade(running, "sell", "1", "2234.56", pnl="1234.56")


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_dashboard_has_no_english_left(client, auth, locale):
    user = auth.register_and_login()
    as_user(user, locale)
    fragments = english_fragments(english_msgids(*DASHBOARD), locale)

    empty = client.get("/").get_data(as_text=True)
    assert english_left(empty, fragments) == []

    busy_dashboard(user)
    page = client.get("/").get_data(as_text=True)
    assert english_left(page, fragments) == []
    assert "alice@example.com" in visible_text(page)  # user data stays as it is
    assert "Trend BTC" in page and "Broken too" in page

    # Nothing unmarked either: no text is the same as on the English page but names, symbols,
    # user data and words the language spells the same.
    as_user(user, "en")
    english = client.get("/").get_data(as_text=True)
    assert same_as_english(english, page, SAME_IN_EVERY_LANGUAGE | SAME[locale]) == []


@pytest.mark.parametrize("locale", ["tr", "fr"])
def test_auth_pages_have_no_english_left(client, locale):
    fragments = english_fragments(english_msgids(*AUTH), locale) | WTFORMS_ENGLISH
    headers = {"Accept-Language": locale}
    for path in ("/auth/login", "/auth/register", "/auth/reset"):
        page = client.get(path, headers=headers).get_data(as_text=True)
        assert english_left(page, fragments) == [], path
        english = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert same_as_english(english, page, SAME_IN_EVERY_LANGUAGE | SAME[locale]) == [], path

    # Validation messages: an empty login form, and a register form breaking every rule.
    response = client.post("/auth/login", data={}, headers=headers)
    assert response.status_code == 422
    assert english_left(response.get_data(as_text=True), fragments) == []
    response = client.post(
        "/auth/register",
        data={"email": "not-an-email", "password": "aaa", "password2": "bbb"},
        headers=headers,
    )
    assert response.status_code == 422
    assert english_left(response.get_data(as_text=True), fragments) == []
    response = client.post(
        "/auth/register",
        data={"email": "alice@example.com", "password": "aaa", "password2": "aaa"},
        headers=headers,
    )
    page = response.get_data(as_text=True)
    assert english_left(page, fragments) == []
    assert {"tr": "En az 10 karakter kullanın", "fr": "Utilisez au moins 10 caractères"}[
        locale
    ] in page
    response = client.post(
        "/auth/login",
        data={"email": "nobody@example.com", "password": "wrong-password-1"},
        headers=headers,
    )
    page = response.get_data(as_text=True)
    assert english_left(page, fragments) == []
    assert {"tr": "E-posta ya da parola hatalı.", "fr": "E-mail ou mot de passe incorrect."}[
        locale
    ] in page


@pytest.mark.parametrize(
    ("locale", "pnl", "price", "win_rate"),
    [
        ("en", "+1,234.5600", "61234.5", "100.0%"),
        ("tr", "+1.234,5600", "61234,5", "%100,0"),
        # French groups thousands with a narrow no-break space (CLDR), not a full stop.
        ("fr", "+1\u202f234,5600", "61234,5", "100,0\xa0%"),
    ],
)
def test_dashboard_figures_follow_the_locale(client, auth, locale, pnl, price, win_rate):
    user = auth.register_and_login()
    as_user(user, locale)
    busy_dashboard(user)
    page = client.get("/").get_data(as_text=True)
    assert f">{pnl}<" in page  # the exact separators, before any whitespace folding
    assert text(page, "sum-pnl") == " ".join(pnl.split())
    assert f"@ {price}" in page
    assert f">{win_rate}<" in page


def test_wtforms_messages_follow_each_request_language(client):
    """WTForms' catalogs are kept per language after their first use: a process that has
    answered in one language still answers the next request in another's."""
    required = {"tr": "Bu alan zorunludur.", "fr": "Ce champ est requis."}
    required["en"] = "This field is required."
    for locale in ("tr", "fr", "en", "fr", "tr"):
        response = client.post("/auth/login", data={}, headers={"Accept-Language": locale})
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert required[locale] in page, locale
        assert all(text not in page for other, text in required.items() if other != locale)
