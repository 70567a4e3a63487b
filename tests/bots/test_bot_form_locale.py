"""Numbers typed in the bot form in the page's language: `1,5` on a Turkish page is 1.5, never
a guess when the separators could be read two ways."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.bots.test_bot_form import FORM, bots, form_data
from webapp.extensions import db
from webapp.models import Bot


def as_locale(user, locale: str) -> None:
    user.locale = locale
    db.session.commit()


@pytest.mark.parametrize(
    ("locale", "typed", "saved"),
    [
        ("tr", "10,5", Decimal("10.5")),
        ("tr", "1.234,5", Decimal("1234.5")),
        ("fr", "1 234,5", Decimal("1234.5")),
        ("fr", "1\u202f234,5", Decimal("1234.5")),
        ("en", "10.5", Decimal("10.5")),
        ("en", "1,234.5", Decimal("1234.5")),
    ],
)
def test_an_order_size_is_read_in_the_pages_language(client, alice, sim_key, locale, typed, saved):
    as_locale(alice, locale)
    response = client.post("/bots/new", data=form_data(sim_key, quote_amount=typed), headers=FORM)
    assert response.status_code == 200, response.get_data(as_text=True)
    [bot] = bots()
    assert bot.quote_amount == saved


def test_one_and_a_half_typed_on_a_turkish_page_is_one_and_a_half(client, alice, sim_key):
    as_locale(alice, "tr")
    data = form_data(sim_key, daily_profit_target="1,5", stop_loss_pct="0,75")
    assert client.post("/bots/new", data=data, headers=FORM).status_code == 200
    [bot] = bots()
    assert (bot.daily_profit_target, bot.stop_loss_pct) == (Decimal("1.5"), Decimal("0.75"))


@pytest.mark.parametrize(
    ("locale", "typed", "expected"),
    [
        ("tr", "1.5", "1.234,5"),  # never read as 15
        ("tr", "1.234", "1234"),  # a Turkish 1234 or an English 1.234: asked, not guessed
        ("fr", "1.5", "1\u202f234,5"),
        ("en", "1,5", "1,234.5"),
    ],
)
def test_separators_that_do_not_fit_are_refused_with_the_expected_format(
    client, alice, sim_key, locale, typed, expected
):
    as_locale(alice, locale)
    response = client.post(
        "/bots/new", data=form_data(sim_key, daily_loss_limit=typed), headers=FORM
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert expected in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bot)) == 0


def test_the_edit_form_shows_numbers_as_the_language_writes_them_and_takes_them_back(
    client, alice, sim_key
):
    as_locale(alice, "tr")
    client.post(
        "/bots/new",
        data=form_data(sim_key, quote_amount="61234,5", take_profit_pct="2,25"),
        headers=FORM,
    )
    [bot] = bots()
    page = client.get(f"/bots/{bot.id}/edit").get_data(as_text=True)
    assert 'value="61234,5"' in page and 'value="2,25"' in page
    data = form_data(sim_key, quote_amount="61234,5", take_profit_pct="2,25", name="Renamed")
    assert client.post(f"/bots/{bot.id}/edit", data=data, headers=FORM).status_code == 200
    db.session.expire_all()
    assert (bot.name, bot.quote_amount, bot.take_profit_pct) == (
        "Renamed",
        Decimal("61234.5"),
        Decimal("2.25"),
    )
