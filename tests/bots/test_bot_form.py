"""Creating and editing a bot: fields from the strategy's specs, errors in place, nothing saved
until everything is valid."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.bots.conftest import htmx
from tests.bots.helpers import make_bot, make_key
from webapp.engine.errors import LIVE_DISABLED_MESSAGE
from webapp.extensions import db
from webapp.models import Bot, BotMode

FORM = htmx("bot-form")


def form_data(api_key, **overrides) -> dict[str, str]:
    data = {
        "name": "Trend BTC",
        "api_key_id": str(api_key.id),
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "strategy": "ema_cross",
        "param_fast": "3",
        "param_slow": "5",
        "quote_amount": "100",
        "stop_loss_pct": "",
        "take_profit_pct": "5",
        "daily_profit_target": "",
        "daily_loss_limit": "50",
        "interval_seconds": "10",
        "mode": "paper",
    }
    data.update(overrides)
    return data


def bots() -> list[Bot]:
    return list(db.session.scalars(sa.select(Bot).order_by(Bot.id)))


def test_the_form_offers_valid_keys_strategies_timeframes_and_known_symbols(
    client, sim_key, alice, bob
):
    make_key(alice, "Broken", valid=False)
    make_key(bob, "Bobs key")
    page = client.get("/bots/new").get_data(as_text=True)
    assert f'<option value="{sim_key.id}">Sim · Binance {sim_key.masked_key}</option>' in page
    assert "Broken" not in page and "Bobs key" not in page
    assert '<option selected value="ema_cross">EMA crossover</option>' in page
    assert '<option value="threshold">Price threshold</option>' in page
    for timeframe in ("1m", "5m", "1h", "1d"):
        assert f'value="{timeframe}"' in page
    # The default strategy's parameters, with their defaults and help.
    assert 'name="param_fast" value="9"' in page and 'name="param_slow" value="21"' in page
    assert "Number of candles in the fast moving average." in page
    # Symbols the exchange lists, as suggestions.
    assert '<datalist id="symbol-options">' in page and '<option value="BTC/USDT">' in page
    assert 'name="mode" type="radio" value="paper"' in page.replace("checked ", "")


def test_without_a_valid_key_the_form_says_where_to_add_one(client, alice):
    make_key(alice, "Broken", valid=False)
    page = client.get("/bots/new").get_data(as_text=True)
    assert "You need a valid exchange API key first." in page
    assert 'href="/keys/"' in page


def test_choosing_a_strategy_swaps_in_its_parameter_fields(client, alice):
    response = client.get(
        "/bots/strategy-fields?strategy=threshold", headers=htmx("strategy-params")
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<div id="strategy-params"')
    assert "<html" not in body
    assert 'name="param_buy_below" value=""' in body and 'step="any"' in body
    assert 'name="param_sell_above"' in body and "required" in body
    assert "param_fast" not in body
    assert client.get("/bots/strategy-fields?strategy=nope").status_code == 404


def test_the_edit_form_swaps_back_to_the_bots_own_parameters(client, alice, alice_key):
    bot = make_bot(alice, alice_key, params={"fast": 4, "slow": 11})
    body = client.get(f"/bots/{bot.id}/strategy-fields?strategy=ema_cross").get_data(as_text=True)
    assert 'name="param_fast" value="4"' in body and 'name="param_slow" value="11"' in body


def test_creating_a_bot_saves_it_stopped_and_goes_to_its_page(client, sim_key):
    response = client.post("/bots/new", data=form_data(sim_key), headers=FORM)
    assert response.status_code == 200
    [bot] = bots()
    assert response.headers["HX-Location"] == f"/bots/{bot.id}"
    assert bot.name == "Trend BTC" and bot.symbol == "BTC/USDT" and bot.timeframe == "1m"
    assert bot.params == {"fast": 3, "slow": 5}
    assert bot.quote_amount == Decimal("100") and bot.take_profit_pct == Decimal("5")
    assert bot.stop_loss_pct is None and bot.daily_loss_limit == Decimal("50")
    assert bot.interval_seconds == 10 and bot.mode == BotMode.PAPER
    assert bot.state.status.value == "stopped"
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert "Bot “Trend BTC” created. Start it when you are ready." in page


def test_without_htmx_the_form_redirects(client, sim_key):
    response = client.post("/bots/new", data=form_data(sim_key))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/bots/{bots()[0].id}"


def test_errors_show_on_their_fields_and_nothing_is_saved(client, sim_key):
    data = form_data(
        sim_key,
        symbol="NOPE/USDT",
        interval_seconds="5",
        param_slow="2",
        quote_amount="lots",
        stop_loss_pct="-1",
    )
    response = client.post("/bots/new", data=data, headers=FORM)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<div id="bot-form"') and "<html" not in body
    assert "Nothing was saved." in body
    assert 'id="symbol-errors"' in body and "Binance has no spot market NOPE/USDT." in body
    assert 'id="interval_seconds-errors"' in body
    assert "Cycle interval must be at least 10 seconds." in body
    assert 'id="param_slow-errors"' in body
    assert "Slow EMA period must be at least 3." in body
    assert "Order size must be a number." in body
    assert "Stop-loss % must be greater than 0." in body
    # What the user typed stays in the form.
    assert 'value="NOPE/USDT"' in body and 'name="param_slow" value="2"' in body
    assert bots() == []


def test_without_htmx_errors_come_back_on_the_whole_page(client, sim_key):
    response = client.post("/bots/new", data=form_data(sim_key, name=""))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" in body and "Name is required." in body
    assert bots() == []


def test_a_taken_name_is_refused(client, sim_key, alice):
    make_bot(alice, sim_key, "Trend BTC")
    response = client.post("/bots/new", data=form_data(sim_key), headers=FORM)
    assert response.status_code == 422
    assert "You already have a bot with this name" in response.get_data(as_text=True)
    assert len(bots()) == 1


def test_another_users_key_cannot_be_used(client, sim_key, bob):
    bobs_key = make_key(bob, "Bobs key")
    response = client.post("/bots/new", data=form_data(bobs_key), headers=FORM)
    assert response.status_code == 422
    assert "Choose one of your API keys" in response.get_data(as_text=True)
    assert bots() == []


@pytest.fixture
def live_off(app, sim_server):
    """Market data from a testnet mirror (our simulator) and live trading off: live is refused."""
    app.config.update(EXCHANGE_SIM_URL=None, TESTNET_URL=sim_server.url, LIVE_TRADING_ENABLED=False)


def test_live_mode_is_refused_with_the_reason_when_live_trading_is_off(client, sim_key, live_off):
    page = client.get("/bots/new").get_data(as_text=True)
    assert "Live trading is turned off on this server" in page
    response = client.post("/bots/new", data=form_data(sim_key, mode="live"), headers=FORM)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'data-testid="mode-error"' in body and LIVE_DISABLED_MESSAGE in body
    assert "symbol-errors" not in body  # the market itself was fine
    assert bots() == []
    # Paper mode is fine.
    response = client.post("/bots/new", data=form_data(sim_key), headers=FORM)
    assert response.status_code == 200 and len(bots()) == 1


def test_editing_shows_current_settings_and_saves_changes(client, sim_key, alice):
    bot = make_bot(
        alice, sim_key, "Old name", params={"fast": 4, "slow": 11}, take_profit_pct=Decimal("2.5")
    )
    page = client.get(f"/bots/{bot.id}/edit").get_data(as_text=True)
    assert 'value="Old name"' in page and 'name="param_fast" value="4"' in page
    assert (
        'id="take_profit_pct" name="take_profit_pct" placeholder="off" type="text" value="2.5"'
        in (
            page.replace(' inputmode="decimal"', "").replace(
                ' aria-describedby="take_profit_pct-help"', ""
            )
        )
    )
    data = form_data(sim_key, name="New name", strategy="threshold", param_buy_below="50000")
    data["param_sell_above"] = "70000"
    response = client.post(f"/bots/{bot.id}/edit", data=data, headers=FORM)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["HX-Location"] == f"/bots/{bot.id}"
    db.session.refresh(bot)
    assert bot.name == "New name" and bot.strategy == "threshold"
    assert bot.params == {"buy_below": "50000", "sell_above": "70000"}


def test_a_bot_holding_a_position_keeps_its_symbol(client, sim_key, alice):
    bot = make_bot(alice, sim_key, state_position_qty=Decimal("0.5"))
    data = form_data(sim_key, name=bot.name, symbol="ETH/USDT")
    response = client.post(f"/bots/{bot.id}/edit", data=data, headers=FORM)
    assert response.status_code == 422
    assert "cannot change its key, symbol or mode until that position is sold" in (
        response.get_data(as_text=True)
    )
    db.session.refresh(bot)
    assert bot.symbol == "BTC/USDT"


def test_the_edit_form_keeps_the_bots_key_even_when_it_became_invalid(client, alice):
    broken = make_key(alice, "Broken", valid=False)
    bot = make_bot(alice, broken)
    page = client.get(f"/bots/{bot.id}/edit").get_data(as_text=True)
    assert (
        f'<option selected value="{broken.id}">Broken · Binance ****wxyz · invalid</option>' in page
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1E+2000000", "Sell above is too large."),
        ("1E-2000000", "Sell above has too many decimal places (at most 12)."),
        ("70000.0000000000001", "Sell above has too many decimal places (at most 12)."),
        ("5E+12", "Sell above must be at most 1000000000000."),
        ("Infinity", "Sell above must be a number."),
    ],
)
def test_absurd_strategy_numbers_are_refused_on_their_field(client, sim_key, value, message):
    data = form_data(sim_key, strategy="threshold", param_buy_below="50000", param_sell_above=value)
    response = client.post("/bots/new", data=data, headers=FORM)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="param_sell_above-errors"' in body and message in body
    assert len(body) < 100_000
    assert bots() == []


def test_a_huge_key_id_is_refused_on_its_field(client, sim_key):
    response = client.post(
        "/bots/new", data=form_data(sim_key, api_key_id=str(2**70)), headers=FORM
    )
    assert response.status_code == 422
    assert "Choose one of your API keys" in response.get_data(as_text=True)
    assert bots() == []


def test_the_symbol_field_says_how_many_markets_it_suggests(client, sim_key):
    from webapp.engine import marketdata

    page = client.get("/bots/new").get_data(as_text=True)
    count = len(marketdata.symbols("binance"))
    assert count > 50
    assert f"Start typing to pick one of the {count} spot markets Binance lists" in page
    assert page.count('<option value="') >= count  # every one of them in the datalist


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("BTCUSDT", "Write the symbol as BASE/QUOTE. Did you mean BTC/USDT?"),
        ("eth_usdt", "Write the symbol as BASE/QUOTE. Did you mean ETH/USDT?"),
        ("BTC/USTD", "Binance has no spot market BTC/USTD. Did you mean BTC/USDT?"),
        ("NOPE/USDT", "Binance has no spot market NOPE/USDT."),
    ],
)
def test_a_symbol_the_exchange_does_not_list_gets_the_one_meant(client, sim_key, typed, message):
    response = client.post("/bots/new", data=form_data(sim_key, symbol=typed), headers=FORM)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    errors = body.split('id="symbol-errors" class="field-errors">', 1)[1].split("</small>", 1)[0]
    assert errors == message
    assert bots() == []
