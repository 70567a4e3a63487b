"""An account that pays its fees in BNB (neither asset of BTC/USDT): each fee is valued in USDT
at BNB's price and counted in the trade and its PnL, as a hand calculation says."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.engine.conftest import API_KEY, API_SECRET, step, trades
from webapp.engine.cycle import Outcome, run_cycle
from webapp.exchange.sim import Simulator
from webapp.extensions import db

Q8 = Decimal("0.00000001")
BNB_PRICE = Decimal("600")


@pytest.fixture
def sim(clock) -> Simulator:
    simulator = Simulator(seed=5, frozen=True, clock=clock)
    simulator.add_account(API_KEY, API_SECRET, {"USDT": "100000", "BNB": "10"})
    simulator.set_bnb_fees(API_KEY)
    simulator.set_price("BNB/USDT", BNB_PRICE)
    return simulator


def bnb_fee(qty: Decimal, price: Decimal) -> Decimal:
    """Binance's: 0.1% of the notional, 25% off, in BNB at its price (8 decimals each)."""
    quote_fee = (qty * price).quantize(Q8, ROUND_HALF_UP) * Decimal("0.001")
    return (quote_fee.quantize(Q8, ROUND_HALF_UP) * Decimal("0.75") / BNB_PRICE).quantize(
        Q8, ROUND_HALF_UP
    )


def test_a_round_trip_paying_fees_in_bnb_counts_them_in_usdt(bot_app, sim, clock, make_bot):
    bot = make_bot(quote_amount="100")
    for price in ("49000", "52000"):
        step(sim, clock, "BTC/USDT", price)
        assert run_cycle(bot.id).outcome is Outcome.TRADED

    buy, sell = trades(bot)
    qty = buy.qty
    assert sell.qty == qty  # no base-currency fee: the whole quantity is sold
    buy_bnb, sell_bnb = bnb_fee(qty, Decimal(49000)), bnb_fee(qty, Decimal(52000))
    assert buy.fee == buy_bnb * BNB_PRICE
    assert sell.fee == sell_bnb * BNB_PRICE
    assert sell.realized_pnl == qty * (Decimal(52000) - Decimal(49000)) - buy.fee - sell.fee

    balances = sim.balances(API_KEY)
    assert balances["BNB"].free == Decimal(10) - buy_bnb - sell_bnb
    assert balances["USDT"].free - Decimal(100000) == qty * Decimal(3000)  # fees left USDT alone
    db.session.expire_all()
    assert bot.state.realized_pnl_today == sell.realized_pnl  # what the daily limits read


def test_without_enough_bnb_the_fee_is_charged_as_usual(bot_app, sim, clock, make_bot):
    sim.add_account(API_KEY, API_SECRET, {"USDT": "100000", "BNB": "0.00000001"})
    sim.set_bnb_fees(API_KEY)
    bot = make_bot(quote_amount="100")
    step(sim, clock, "BTC/USDT", "49000")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [buy] = trades(bot)
    assert buy.fee == (buy.qty * 49000 * Decimal("0.001")).quantize(Q8, ROUND_HALF_UP)
