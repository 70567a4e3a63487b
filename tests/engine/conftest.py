"""Bots against the simulated exchange on loopback, with a market clock the test moves.

Prices are frozen and set by the test; the market clock only moves when the test says so, so
"the last closed candle" is exactly the price the test set one step earlier. Request
timestamps are still checked against the real clock, as on Binance.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from webapp.engine import service
from webapp.events import EventType
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db
from webapp.keys import service as keys
from webapp.models import ApiKey, Bot, BotActivity, Notification, NotificationChannel, Trade, User
from webapp.notify import preferences

API_KEY = "KbotTestKey0123456789abcdefABCD"
API_SECRET = "SbotTestSecret-0f1e2d3c4b5a6978"


class MarketClock:
    """The simulator's market time; each `step` closes the current candle."""

    def __init__(self, start: float | None = None) -> None:
        # 45.25 s into the minute the test starts in, so the engine's "order older than its
        # intent" check sees the simulator's order times as recent, as a real exchange's are
        # (a start taken once at import lags further behind each test on a slow run).
        self.now = time.time() // 60 * 60 + 45.25 if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 60) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> MarketClock:
    return MarketClock()


@pytest.fixture
def sim(clock) -> Simulator:
    # Fees in quote on both sides, so these tests' hand calculations read in one currency;
    # Binance's own convention (a buy's fee in base), the simulator's default, is what
    # test_bnb_fees.py and test_dust.py trade under.
    simulator = Simulator(seed=5, frozen=True, clock=clock, fee_asset="quote")
    simulator.add_account(API_KEY, API_SECRET, {"USDT": "100000"})
    return simulator


@pytest.fixture
def sim_server(sim) -> Iterator[SimServer]:
    with SimServer(sim) as server:
        yield server


@pytest.fixture
def bot_app(app, sim_server):
    """The app trading on the simulator, with short locks so a killed cycle's lock expires."""
    app.config.update(
        EXCHANGE_SIM_URL=sim_server.url,
        EXCHANGE_TIMEOUT_MS=5000,
        BOT_LOCK_TTL_SECONDS=2,
        BOT_MAX_CONSECUTIVE_ERRORS=3,
        BOT_OHLCV_LIMIT=60,
    )
    return app


@pytest.fixture
def user(bot_app, auth) -> User:
    """A user who wants every event by email, so each event leaves an outbox row to check."""
    user = auth.create_user("trader@example.com")
    for event_type in EventType:
        preferences.set_preference(user.id, event_type, NotificationChannel.EMAIL, True)
    db.session.commit()
    return user


@pytest.fixture
def api_key(user) -> ApiKey:
    key = keys.add_key(user, "binance", "Sim", API_KEY, API_SECRET)
    db.session.commit()
    return key


_names = itertools.count(1)


@pytest.fixture
def make_bot(user, api_key):
    """Create (and by default start) a bot; keyword arguments override the defaults."""

    def make(start: bool = True, owner: User | None = None, key: ApiKey | None = None, **fields):
        values = {
            "name": f"bot {next(_names)}",
            "api_key_id": (key or api_key).id,
            "symbol": "BTC/USDT",
            "timeframe": "1m",
            "strategy": "threshold",
            "params": {"buy_below": "50000", "sell_above": "51000"},
            "quote_amount": "100",
            "interval_seconds": 10,
            "mode": "live",
        }
        values.update(fields)
        bot = service.create_bot(owner or user, **values)
        if start:
            service.start_bot(bot)
        db.session.commit()
        return bot

    return make


def step(sim: Simulator, clock: MarketClock, symbol: str, price: str | Decimal) -> None:
    """Move the market to `price` and close the candle, so strategies see it."""
    sim.set_price(symbol, Decimal(price))
    clock.advance(60)


def trades(bot: Bot) -> list[Trade]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(Trade).where(Trade.bot_id == bot.id).order_by(Trade.id))
    )


def activity(bot: Bot) -> list[str]:
    """The bot's activity lines, oldest first."""
    return list(
        db.session.scalars(
            sa.select(BotActivity.message)
            .where(BotActivity.bot_id == bot.id)
            .order_by(BotActivity.id)
        )
    )


def events(user: User, event_type: str) -> list[Notification]:
    """Outbox rows for an event (one per enabled channel; email is on for most events)."""
    return list(
        db.session.scalars(
            sa.select(Notification).where(
                Notification.user_id == user.id, Notification.event_type == event_type
            )
        )
    )


@pytest.fixture(autouse=True)
def every_engine_text_is_translatable(request):
    """After each test of real cycles: every text the engine stored (activity lines, stop
    reasons, a signal's reason, the last error's frame) is one the bot page translates, so a
    text added to the engine without its catalog entry fails here, not in front of a reader."""
    yield
    if "bot_app" not in request.fixturenames:
        return
    from webapp.i18n.engine_text import unrecognised
    from webapp.models import BotActivity, BotSignal, BotState

    db.session.rollback()
    texts = set(db.session.scalars(sa.select(BotActivity.message)))
    for row in db.session.execute(sa.select(BotState.status_reason, BotState.last_reason)):
        texts.update(t for t in row if t)
    texts.update(t for t in db.session.scalars(sa.select(BotSignal.outcome)) if t)
    assert unrecognised(texts) == []
