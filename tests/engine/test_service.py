"""Creating, changing, starting, stopping and deleting bots, with a message for every mistake."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.engine.conftest import step, trades
from webapp.engine import service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import (
    LIVE_DISABLED_MESSAGE,
    BotBusy,
    BotNotFound,
    BotStartError,
    BotValidationError,
)
from webapp.engine.locks import bot_lock
from webapp.extensions import db, redis_ext
from webapp.models import ActivityKind, Bot, BotActivity, BotMode, BotStatus, Trade

GOOD = {
    "name": "Dip buyer",
    "symbol": "BTC/USDT",
    "timeframe": "1m",
    "strategy": "threshold",
    "params": {"buy_below": "50000", "sell_above": "51000"},
    "quote_amount": "100",
    "interval_seconds": "60",
    "mode": "paper",
}


def create(user, api_key, **changes):
    fields = {**GOOD, "api_key_id": str(api_key.id), **changes}
    bot = service.create_bot(user, **fields)
    db.session.commit()
    return bot


def errors_of(user, api_key, **changes) -> dict[str, str]:
    with pytest.raises(BotValidationError) as caught:
        create(user, api_key, **changes)
    db.session.rollback()
    return caught.value.errors


def test_a_valid_bot_is_created_stopped(user, api_key):
    bot = create(user, api_key, stop_loss_pct="2.5", daily_loss_limit=" 10 ", symbol="btc/usdt")
    assert (bot.exchange, bot.symbol, bot.mode) == ("binance", "BTC/USDT", BotMode.PAPER)
    assert bot.params == {"buy_below": "50000", "sell_above": "51000"}
    assert (bot.quote_amount, bot.stop_loss_pct, bot.take_profit_pct) == (
        Decimal(100),
        Decimal("2.5"),
        None,
    )
    assert bot.daily_loss_limit == 10
    assert bot.interval_seconds == 60
    assert bot.state.status is BotStatus.STOPPED
    assert bot.state.next_run_at is None
    [created] = service.bot_activity(bot)
    assert created.kind is ActivityKind.STATE
    assert created.message == "Created: threshold on BTC/USDT 1m, paper mode."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Name is required."),
        ({"name": "x" * 81}, "name", "Name must be at most 80 characters."),
        (
            {"api_key_id": ""},
            "api_key_id",
            "Choose one of your API keys (add one on the keys page).",
        ),
        (
            {"api_key_id": "999"},
            "api_key_id",
            "Choose one of your API keys (add one on the keys page).",
        ),
        ({"symbol": ""}, "symbol", "Symbol is required, e.g. BTC/USDT."),
        (
            {"symbol": "BTCUSDT"},
            "symbol",
            "Write the symbol as BASE/QUOTE. Did you mean BTC/USDT?",
        ),
        ({"symbol": "NOPE/USDT"}, "symbol", "Binance has no spot market NOPE/USDT."),
        (
            {"timeframe": "7m"},
            "timeframe",
            "Choose a timeframe: 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d.",
        ),
        ({"strategy": "martingale"}, "strategy", "Choose one of the strategies."),
        ({"params": {"buy_below": "50000"}}, "params.sell_above", "Sell above is required."),
        (
            {"params": {"buy_below": "5", "sell_above": "4"}},
            "params.sell_above",
            "Sell above must be greater than Buy below (5).",
        ),
        ({"quote_amount": ""}, "quote_amount", "Order size is required."),
        ({"quote_amount": "ten"}, "quote_amount", "Order size must be a number."),
        ({"quote_amount": "-5"}, "quote_amount", "Order size must be greater than 0."),
        (
            {"quote_amount": "1"},
            "quote_amount",
            "Order size must be at least 5 USDT on Binance for BTC/USDT.",
        ),
        (
            {"quote_amount": "1.0000000000001"},
            "quote_amount",
            "Order size has too many decimal places (at most 12).",
        ),
        ({"stop_loss_pct": "100"}, "stop_loss_pct", "Stop-loss % must be at most 99."),
        ({"take_profit_pct": "0"}, "take_profit_pct", "Take-profit % must be greater than 0."),
        (
            {"daily_profit_target": "NaN"},
            "daily_profit_target",
            "Daily profit target must be a number.",
        ),
        (
            {"daily_loss_limit": "-1"},
            "daily_loss_limit",
            "Daily loss limit must be greater than 0.",
        ),
        (
            {"interval_seconds": "9"},
            "interval_seconds",
            "Cycle interval must be at least 10 seconds.",
        ),
        (
            {"interval_seconds": "1.5"},
            "interval_seconds",
            "Cycle interval must be a whole number of seconds.",
        ),
        ({"mode": "yolo"}, "mode", "Choose paper or live mode."),
    ],
)
def test_each_bad_field_gets_its_own_message(user, api_key, changes, field, message):
    errors = errors_of(user, api_key, **changes)
    assert errors == {field: message}


def test_every_problem_is_reported_at_once(user, api_key):
    with pytest.raises(BotValidationError) as caught:
        create(user, api_key, name="", quote_amount="0", params={"buy_below": "x"})
    error = caught.value
    assert set(error.errors) == {"name", "quote_amount", "params.buy_below", "params.sell_above"}
    assert error.param_errors == {
        "buy_below": "Buy below must be a number.",
        "sell_above": "Sell above is required.",
    }
    assert set(error.field_errors) == {"name", "quote_amount"}


def test_names_are_unique_per_user_and_keys_are_private(user, api_key, auth):
    create(user, api_key)
    assert errors_of(user, api_key) == {
        "name": "You already have a bot with this name; choose another one."
    }
    other = auth.create_user("bob@example.com")
    # Bob may use the name, but not Alice's key.
    assert errors_of(other, api_key) == {
        "api_key_id": "Choose one of your API keys (add one on the keys page)."
    }


def test_strategy_history_must_fit_what_the_engine_fetches(user, api_key, bot_app):
    assert bot_app.config["BOT_OHLCV_LIMIT"] == 60  # the tests' setting; 600 by default
    errors = errors_of(
        user, api_key, strategy="ema_cross", params={"fast": "20", "slow": "80"}, name="ema"
    )
    assert errors == {
        "strategy": "These settings need 81 candles of history; the engine fetches 59. "
        "Use shorter periods."
    }
    bot = create(user, api_key, strategy="ema_cross", params={"fast": "9"}, name="ema ok")
    assert bot.params == {"fast": 9, "slow": 21}


def test_live_mode_is_refused_unless_an_operator_enabled_it(user, api_key, bot_app, sim_server):
    # A real exchange's market data (the simulator standing in as a testnet), no simulator.
    bot_app.config.update(EXCHANGE_SIM_URL=None, TESTNET_URL=sim_server.url)
    assert service.live_trading_allowed() is False
    assert errors_of(user, api_key, mode="live") == {"mode": LIVE_DISABLED_MESSAGE}
    assert "LIVE_TRADING_ENABLED" in LIVE_DISABLED_MESSAGE

    bot_app.config["LIVE_TRADING_ENABLED"] = True
    bot = create(user, api_key, mode="live")
    assert bot.mode is BotMode.LIVE

    # Turned off again: the live bot cannot start.
    bot_app.config["LIVE_TRADING_ENABLED"] = False
    with pytest.raises(BotStartError) as caught:
        service.start_bot(bot)
    assert str(caught.value) == LIVE_DISABLED_MESSAGE


def test_the_simulator_always_allows_live_mode(user, api_key, bot_app):
    assert bot_app.config["LIVE_TRADING_ENABLED"] is False
    assert create(user, api_key, mode="live").mode is BotMode.LIVE


def test_start_and_stop(user, api_key):
    bot = create(user, api_key)
    state = service.start_bot(bot)
    assert state.status is BotStatus.RUNNING
    assert state.next_run_at is not None
    service.stop_bot(bot)
    db.session.commit()
    assert bot.state.status is BotStatus.STOPPED
    assert bot.state.status_reason == "Stopped by you."
    assert bot.state.next_run_at is None
    messages = [a.message for a in service.bot_activity(bot)]
    assert messages[:2] == ["Stopped by you.", "Started."]


def test_a_bot_cannot_start_with_a_rejected_key(user, api_key):
    bot = create(user, api_key)
    api_key.is_valid = False
    api_key.last_error = "The exchange rejected this API key or secret."
    with pytest.raises(BotStartError) as caught:
        service.start_bot(bot)
    assert "“Sim” cannot be used: The exchange rejected this API key or secret." in str(
        caught.value
    )


def test_updates_are_validated_and_position_bound_fields_are_frozen(
    user, api_key, sim, clock, bot_app
):
    bot = create(user, api_key)
    service.start_bot(bot)
    db.session.commit()
    service.update_bot(bot, quote_amount="200", take_profit_pct="5")
    db.session.commit()
    assert (bot.quote_amount, bot.take_profit_pct) == (200, 5)
    with pytest.raises(BotValidationError) as caught:
        service.update_bot(bot, interval_seconds="3")
    assert caught.value.errors == {
        "interval_seconds": "Cycle interval must be at least 10 seconds."
    }
    db.session.rollback()

    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    db.session.expire_all()
    with pytest.raises(BotValidationError) as caught:
        service.update_bot(bot, symbol="ETH/USDT")
    assert caught.value.errors["symbol"] == (
        "This bot holds 0.00408 BTC; it cannot change its key, symbol or mode until that "
        "position is sold."
    )
    db.session.rollback()
    service.update_bot(bot, name="Renamed")  # anything else may change
    db.session.commit()
    assert bot.name == "Renamed"


def test_get_bot_only_finds_the_users_own(user, api_key, auth):
    bot = create(user, api_key)
    other = auth.create_user("bob@example.com")
    assert service.get_bot(user, bot.id) is bot
    with pytest.raises(BotNotFound):
        service.get_bot(other, bot.id)
    assert service.user_bots(other) == []
    assert service.user_bots(user) == [bot]


def test_delete_removes_trades_and_activity_but_waits_for_a_running_cycle(
    user, api_key, sim, clock
):
    bot = create(user, api_key)
    service.start_bot(bot)
    db.session.commit()
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    bot_id = bot.id

    lock = bot_lock(redis_ext.conn, bot_id, 5)
    assert lock.acquire()
    with pytest.raises(BotBusy):
        service.delete_bot(bot, wait_seconds=0.1)
    lock.release()

    service.delete_bot(bot)
    db.session.commit()
    assert db.session.get(Bot, bot_id) is None
    for model in (Trade, BotActivity):
        count = sa.select(sa.func.count()).select_from(model).where(model.bot_id == bot_id)
        assert db.session.scalar(count) == 0
    # No cycle can start for it in the meantime.
    assert run_cycle(bot_id).outcome in (Outcome.LOCKED, Outcome.NOT_FOUND)


def test_reports_and_dashboard_summary(user, api_key, sim, clock):
    first = create(user, api_key, name="one")
    second = create(user, api_key, name="two", symbol="ETH/USDT", params={
        "buy_below": "3000", "sell_above": "3300"})  # fmt: skip
    for bot in (first, second):
        service.start_bot(bot)
    db.session.commit()
    step(sim, clock, "BTC/USDT", "50000")
    sim.set_price("ETH/USDT", Decimal(2500))
    clock.advance(60)
    assert run_cycle(first.id).outcome is Outcome.TRADED
    assert run_cycle(second.id).outcome is Outcome.TRADED
    step(sim, clock, "BTC/USDT", "51000")
    assert run_cycle(first.id).outcome is Outcome.TRADED

    report = service.bot_report(first)
    assert (report.trade_count, report.buys, report.sells, report.wins) == (2, 1, 1, 1)
    assert report.total_realized_pnl == Decimal("1.798")
    assert report.last_trade_at == trades(first)[-1].executed_at

    summary = service.user_summary(user)
    assert (summary.bots, summary.running, summary.open_positions) == (2, 2, 1)
    assert summary.report.trade_count == 3
    assert summary.report.total_realized_pnl == Decimal("1.798")
    assert summary.realized_pnl_today == Decimal("1.798")
    assert set(summary.per_bot) == {first.id, second.id}

    query = service.trades_query(user, bot_id=first.id, side="sell")
    [sell] = db.session.scalars(query).all()
    assert sell.realized_pnl == Decimal("1.798")


def test_stop_bots_for_key_stops_only_running_bots_of_that_key(user, api_key):
    running = create(user, api_key, name="a")
    service.start_bot(running)
    create(user, api_key, name="b")
    assert service.stop_bots_for_key(api_key.id, "Its API key was deleted.") == 1
    assert running.state.status is BotStatus.STOPPED
    assert running.state.status_reason == "Its API key was deleted."
