"""An exchange that takes the buy fee in the base currency (Binance without BNB) leaves a
remainder no order can sell; the bot must keep trading and keep its PnL honest."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.engine.conftest import API_KEY, API_SECRET, step, trades
from webapp.engine.cycle import Outcome, run_cycle
from webapp.exchange.sim import Simulator
from webapp.extensions import db
from webapp.models import BotActivity


@pytest.fixture
def sim(clock) -> Simulator:
    simulator = Simulator(seed=5, frozen=True, clock=clock, fee_asset="base")
    simulator.add_account(API_KEY, API_SECRET, {"USDT": "100000"})
    return simulator


def test_dust_left_by_a_base_currency_fee_does_not_stall_the_bot(bot_app, sim, clock, make_bot):
    bot = make_bot(quote_amount="100")
    for price in ("49000", "52000", "49000", "52000"):
        step(sim, clock, "BTC/USDT", price)
        result = run_cycle(bot.id)
        assert result.outcome is Outcome.TRADED, result

    done = trades(bot)
    assert [t.side.value for t in done] == ["buy", "sell", "buy", "sell"]
    # The first sell left dust; the second sell took it along.
    assert done[3].qty > done[1].qty
    messages = list(
        db.session.scalars(sa.select(BotActivity.message).where(BotActivity.bot_id == bot.id))
    )
    assert any("left as dust" in m for m in messages)

    # PnL stays honest: realized minus the cost of what is still held is what the account
    # gained in USDT.
    db.session.expire_all()
    state = bot.state
    realized = sum(t.realized_pnl for t in done if t.realized_pnl is not None)
    held_cost = state.position_qty * state.position_avg_price
    gained = sim.balances(API_KEY)["USDT"].free - Decimal("100000")
    assert abs((realized - held_cost) - gained) < Decimal("0.000001")
    assert state.position_qty < Decimal("0.00001")  # only dust, never accumulating
