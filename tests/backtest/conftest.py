"""Backtests against the simulated exchange on loopback, its market clock pinned in the past.

The simulator's prices are a pure function of (seed, symbol, second), so the history it serves
is the same every run: a test fetches a few hours of it and knows what it should get.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.engine.conftest import API_KEY, API_SECRET, MarketClock
from webapp.exchange.sim import SimServer, Simulator
from webapp.extensions import db
from webapp.keys import service as keys

#: The market's "now": every candle before it is closed history.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> MarketClock:
    """The engine tests' market clock, pinned at NOW so the candle history is fixed."""
    return MarketClock(NOW.timestamp())


@pytest.fixture
def sim(clock) -> Simulator:
    simulator = Simulator(seed=11, clock=clock)
    simulator.add_account(API_KEY, API_SECRET, {"USDT": "100000"})
    return simulator


@pytest.fixture
def sim_server(sim) -> Iterator[SimServer]:
    with SimServer(sim) as server:
        yield server


@pytest.fixture
def bt_app(app, sim_server):
    app.config.update(EXCHANGE_SIM_URL=sim_server.url, EXCHANGE_TIMEOUT_MS=5000)
    return app


@pytest.fixture
def trader(bt_app, auth):
    user = auth.create_user("trader@example.com")
    db.session.commit()
    return user


@pytest.fixture
def sim_key(trader):
    key = keys.add_key(trader, "binance", "Sim", API_KEY, API_SECRET)
    db.session.commit()
    return key
