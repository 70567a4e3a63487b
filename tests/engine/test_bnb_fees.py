"""A bot's round trips under each of Binance's fee modes, against a hand calculation.

By default a buy's fee is in the bought asset (the bot holds that much less, and the fee is
valued at the fill price) and a sell's in quote. An account that pays its fees in BNB (neither
asset of BTC/USDT) has each fee valued in USDT at BNB's price. Either way the trade and its
PnL count the fee.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.engine.conftest import API_KEY, API_SECRET, step, trades
from webapp.engine.cycle import Outcome, run_cycle
from webapp.exchange.sim import Simulator
from webapp.extensions import db
from webapp.models.bot import quantize

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
    [order] = sim.orders(API_KEY)
    [fill] = order.fills
    assert (fill.commission_asset, fill.commission) == ("BTC", order.executed_qty / 1000)
    assert buy.qty == order.executed_qty - fill.commission  # what the bot holds
    assert buy.fee == fill.commission * 49000


def test_a_round_trip_with_binance_default_fees(bot_app, sim, clock, make_bot):
    """A buy's fee in BTC, a sell's in USDT: 100 USDT at 49,000 buys 0.00204 BTC (the 0.00001
    step), 0.00000204 BTC of which is the fee; the 0.00203 BTC left (the step again) sell at
    52,000, and the 0.00000796 BTC under the step stays as dust."""
    sim.set_bnb_fees(API_KEY, False)  # the simulator's default: Binance's own fees
    bot = make_bot(quote_amount="100")
    for price in ("49000", "52000"):
        step(sim, clock, "BTC/USDT", price)
        assert run_cycle(bot.id).outcome is Outcome.TRADED
    buy, sell = trades(bot)
    assert buy.qty == Decimal("0.00204") - Decimal("0.00000204")
    assert buy.fee == Decimal("0.00000204") * 49000  # 0.09996 USDT
    assert sell.qty == Decimal("0.00203")
    assert sell.fee == (Decimal("0.00203") * 52000 * Decimal("0.001")).quantize(Q8)  # 0.10556
    # What the held BTC cost each, fee included: 99.96 USDT for 0.00203796 BTC (12 places,
    # as the position is stored).
    entry = quantize(Decimal("99.96") / buy.qty)
    assert entry == Decimal("49049.049049049049")
    assert sell.realized_pnl == quantize(Decimal("0.00203") * (52000 - entry) - sell.fee)
    assert sell.realized_pnl.quantize(Q8) == Decimal("5.88487043")
