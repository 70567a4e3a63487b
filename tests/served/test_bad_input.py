"""What a person can type, sent to the app as gunicorn serves it: a clear message on the
field, a 4xx, nothing saved, nothing sent to the exchange, and never a 500.

The `served` fixture also fails a test whose request made the web process log a traceback.
"""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from tests.bots.helpers import make_bot, make_key
from tests.served.test_trades_export import alice as load_alice
from webapp.extensions import db
from webapp.models import ApiKey, Bot

#: Numbers no amount column can hold, and text that is not a number at all.
ABSURD_NUMBERS = [
    "1e309",  # past a float: infinity if anything parsed it as one
    "1" + "0" * 39,  # 40 digits, past the 28 of the column
    "9" * 5000,  # past Python's int-from-string limit
    "1e999999999",
    "1e-400",
    "NaN",
    "sNaN",
    "inf",
    "-Infinity",
    "0x10",
    "1,5e3",
]
AMOUNT_FIELDS = {
    "quote_amount": "Order size",
    "daily_profit_target": "Daily profit target",
    "daily_loss_limit": "Daily loss limit",
    "stop_loss_pct": "Stop-loss %",
    "take_profit_pct": "Take-profit %",
}
#: What cannot be an exchange credential (and cannot go into an HTTP header).
NOT_CREDENTIALS = [
    "key-\N{ROCKET}-0123456789",
    "\u05de\u05e4\u05ea\u05d7-\u0645\u0641\u062a\u0627\u062d-0123",  # Hebrew and Arabic (RTL)
    "\u202ekey0123456789",  # right-to-left override
    "key with spaces 012",
    "clé-accentuée-0123",
]


def field_errors(page: str, name: str) -> str:
    match = re.search(rf'<small id="{name}-errors" class="field-errors">(.*?)</small>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def bot_form(api_key_id: int, **overrides) -> dict[str, str]:
    return {
        "name": "Trend BTC",
        "api_key_id": str(api_key_id),
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "strategy": "ema_cross",
        "param_fast": "3",
        "param_slow": "5",
        "quote_amount": "100",
        "interval_seconds": "60",
        "mode": "paper",
        **overrides,
    }


@pytest.fixture
def key_id(web) -> int:
    return make_key(load_alice()).id


@pytest.mark.parametrize("value", ABSURD_NUMBERS)
@pytest.mark.parametrize("field", AMOUNT_FIELDS)
def test_new_bot_refuses_absurd_numbers_on_their_field(web, key_id, field, value):
    response = web.submit("/bots/new", bot_form(key_id, **{field: value}))
    assert response.status_code == 422
    message = field_errors(response.text, field)
    assert message.startswith(AMOUNT_FIELDS[field]), message
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0


@pytest.mark.parametrize("value", ["1e309", "1" + "0" * 39, "NaN", "-inf"])
@pytest.mark.parametrize("field", ["quote_amount", "daily_profit_target", "daily_loss_limit"])
def test_editing_a_bot_refuses_absurd_numbers_and_keeps_it(web, key_id, field, value):
    alice = load_alice()
    bot = make_bot(alice, db.session.get(ApiKey, key_id), quote_amount=100)
    before = {f: getattr(bot, f) for f in AMOUNT_FIELDS}
    response = web.submit(f"/bots/{bot.id}/edit", bot_form(key_id, **{field: value}))
    assert response.status_code == 422
    assert field_errors(response.text, field).startswith(AMOUNT_FIELDS[field])
    db.session.expire_all()
    assert {f: getattr(db.session.get(Bot, bot.id), f) for f in AMOUNT_FIELDS} == before


def test_a_huge_number_says_how_large_is_allowed(web, key_id):
    response = web.submit("/bots/new", bot_form(key_id, quote_amount="1e309"))
    assert field_errors(response.text, "quote_amount") == (
        "Order size must be less than 1,000,000,000,000,000."
    )


@pytest.mark.parametrize("value", ["1" + "0" * 40, "9" * 5000, "1e309", "NaN", "1.5"])
def test_absurd_intervals_are_refused(web, key_id, value):
    response = web.submit("/bots/new", bot_form(key_id, interval_seconds=value))
    assert response.status_code == 422
    assert field_errors(response.text, "interval_seconds").startswith("Cycle interval")


@pytest.mark.parametrize("field", ["api_key", "api_secret"])
@pytest.mark.parametrize("value", NOT_CREDENTIALS)
def test_a_key_that_is_not_plain_text_is_refused_before_the_exchange_hears_of_it(
    web, served_exchange, field, value
):
    form = {"exchange": "binance", "label": "Main", "api_key": "K" * 32, "api_secret": "S" * 32}
    form[field] = value
    response = web.submit("/keys/", form)
    assert response.status_code == 422
    assert "no spaces, accents or emoji" in field_errors(response.text, field)
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0
    assert served_exchange.sim.stats()["total"] == 0


def test_a_plain_key_still_reaches_the_exchange(web, served_exchange):
    form = {"exchange": "binance", "label": "Main", "api_key": "K" * 32, "api_secret": "S" * 32}
    response = web.submit("/keys/", form)
    assert response.status_code == 422  # the simulator knows no such key
    assert "Nothing was saved" in response.text
    assert served_exchange.sim.stats()["total"] >= 1


#: A grid and a DCA as the bot form posts them once the strategy is chosen (its parameter
#: fields swapped in), every number valid.
RESTING_FORMS = {
    "grid": {
        "param_lower": "49000",
        "param_upper": "51000",
        "param_grids": "4",
        "param_spacing": "arithmetic",
        "param_investment": "400",
        "param_trigger_price": "50200",
        "param_stop_below": "48000",
        "param_take_above": "52000",
    },
    "dca": {
        "param_base_order": "100",
        "param_safety_order": "100",
        "param_max_safety_orders": "3",
        "param_deviation_pct": "1",
        "param_step_scale": "1.2",
        "param_volume_scale": "1.5",
        "param_max_active_safety_orders": "2",
        "param_take_profit_pct": "1",
        "param_stop_loss_pct": "10",
        "param_cooldown_minutes": "5",
        "param_entry": "immediately",
        "param_rsi_period": "14",
        "param_rsi_below": "30",
    },
}
RESTING_FIELDS = [
    (strategy, name) for strategy, form in RESTING_FORMS.items() for name in form
    if name not in ("param_spacing", "param_entry")
]  # fmt: skip


def resting_form(key_id: int, strategy: str, **overrides) -> dict[str, str]:
    form = bot_form(key_id, strategy=strategy, **{**RESTING_FORMS[strategy], **overrides})
    del form["param_fast"], form["param_slow"]
    return form


def test_the_served_form_swaps_in_every_field_the_resting_forms_post(web, key_id):
    for strategy, fields in RESTING_FORMS.items():
        page = web.get(f"/bots/strategy-fields?strategy={strategy}").text
        assert sorted(re.findall(r'name="(param_\w+)"', page)) == sorted(fields)
        response = web.submit("/bots/new", resting_form(key_id, strategy, name=strategy))
        errors = re.findall(r"field-errors\">(.*?)<", response.text)
        assert response.status_code in (200, 302), errors
    saved = {b.strategy: b.params for b in db.session.scalars(sa.select(Bot))}
    assert saved["grid"]["trigger_price"] == "50200" and saved["dca"]["rsi_below"] == "30"


@pytest.mark.parametrize("value", ["1e309", "1" + "0" * 39, "NaN", "-Infinity", "1e-400"])
@pytest.mark.parametrize(("strategy", "field"), RESTING_FIELDS)
def test_a_grid_or_dca_refuses_absurd_numbers_on_their_field(web, key_id, strategy, field, value):
    response = web.submit("/bots/new", resting_form(key_id, strategy, **{field: value}))
    assert response.status_code == 422
    assert field_errors(response.text, field), response.text[:300]
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == 0
