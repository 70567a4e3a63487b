"""The DCA bot on the simulator through the real ccxt client: the base order, the safety
orders resting below it (visible with `fetch_open_orders`), the take-profit moved as each
safety order fills, the deal closed by it, the cooldown, the deal's stop-loss, `start_deal` and
`close` signals, the bot page's deal, and bad settings refused before anything is saved or
sent."""

from __future__ import annotations

import html
from decimal import ROUND_CEILING, Decimal

import pytest
import sqlalchemy as sa

from tests.bots.test_bot_detail import chart_data
from tests.conftest import PASSWORD
from tests.engine.conftest import step, trades
from webapp.engine import orders, service
from webapp.engine.cycle import Outcome, run_cycle
from webapp.engine.errors import BotValidationError
from webapp.engine.tick import tick
from webapp.extensions import db
from webapp.models import Bot, BotOrder, BotSignal, SignalStatus
from webapp.signals import service as signals

DCA = {
    "base_order": "100",
    "safety_order": "49",
    "max_safety_orders": 3,
    "deviation_pct": "2",
    "step_scale": "1.5",
    "volume_scale": "2",
    "max_active_safety_orders": 2,
    "take_profit_pct": "1.5",
    "cooldown_minutes": 5,
}
# 2% below 50,000, then 2 + 3 = 5%, then 2 + 3 + 4.5 = 9.5%; 49, 98 and 196 USDT, to the
# 0.00001 BTC step.
SAFETY = [
    (Decimal("49000"), Decimal("0.001")),
    (Decimal("47500"), Decimal("0.00206")),
    (Decimal("45250"), Decimal("0.00433")),
]


def dca_bot(make_bot, **fields):
    fields.setdefault("strategy", "dca")
    fields.setdefault("params", DCA)
    return make_bot(**fields)


def active(bot) -> dict[str, BotOrder]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(BotOrder).where(BotOrder.bot_id == bot.id))
    return {r.tag: r for r in rows if r.status.is_active}


def on_exchange(bot) -> set[tuple[str, float, float]]:
    listed = orders.live_client(bot).fetch_open_orders(bot.symbol)
    return {(o["side"], o["price"], o["amount"]) for o in listed}


def take_profit_of(bot) -> Decimal:
    db.session.refresh(bot.state)
    price = bot.state.position_avg_price * Decimal("1.015")
    return price.quantize(Decimal("0.01"), ROUND_CEILING)


def login(client) -> None:
    client.post("/auth/login", data={"email": "trader@example.com", "password": PASSWORD})


def test_a_live_deal_from_base_order_to_take_profit(bot_app, sim, clock, make_bot, client):
    bot = dca_bot(make_bot)
    step(sim, clock, "BTC/USDT", "50000")

    # The base order buys 100 USDT worth at once.
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    [base] = trades(bot)
    assert (base.side.value, base.qty, base.price) == ("buy", Decimal("0.002"), Decimal("50000"))

    # Next cycle: two safety orders below it and the take-profit above the average entry.
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    tp = take_profit_of(bot)
    assert on_exchange(bot) == {
        ("buy", 49000.0, 0.001),
        ("buy", 47500.0, 0.00206),
        ("sell", float(tp), 0.002),
    }
    assert sorted(active(bot)) == ["d1s1", "d1s2", "d1tp"]

    # Down through 49,000: safety order 1 fills; the take-profit follows the average down,
    # and safety order 3 joins the exchange (two rest at once).
    step(sim, clock, "BTC/USDT", "48900")
    assert run_cycle(bot.id).outcome is Outcome.TRADED
    assert (trades(bot)[-1].price, trades(bot)[-1].qty) == SAFETY[0]
    tp = take_profit_of(bot)
    assert tp < Decimal("50750")
    assert on_exchange(bot) == {
        ("buy", 47500.0, 0.00206),
        ("buy", 45250.0, 0.00433),
        ("sell", float(tp), 0.003),
    }

    # The page shows the deal level by level.
    login(client)
    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    states = [
        ('data-level="0" data-state="filled"'),
        ('data-level="1" data-state="filled"'),
        ('data-level="2" data-state="resting"'),
        ('data-level="3" data-state="resting"'),
    ]
    assert all(s in page for s in states)
    assert f'data-testid="deal-take-profit">{tp:f} USDT' in page
    # The last safety order sits at 45,250: 7.46% below 48,900 is what the deal still absorbs.
    assert 'data-testid="deal-absorbs">7.5%' in page
    # The price chart draws the orders resting on the exchange.
    chart = client.get(
        f"/bots/{bot.id}/price-chart", headers={"HX-Request": "true", "HX-Target": "bot-price"}
    ).get_data(as_text=True)
    assert sorted((m["k"], m["p"]) for m in chart_data(chart, "price-chart")["marks"]) == [
        ("buy", 45250.0),
        ("buy", 47500.0),
        ("sell", float(tp)),
    ]

    # Up through the take-profit: the whole position sells, the deal is over, what rested is
    # canceled, and the next deal waits for the cooldown.
    step(sim, clock, "BTC/USDT", str(tp + 10))
    run_cycle(bot.id)
    sell = trades(bot)[-1]
    assert (sell.side.value, sell.qty, sell.price) == ("sell", Decimal("0.003"), tp)
    assert on_exchange(bot) == set()
    db.session.refresh(bot.state)
    assert bot.state.position_qty == 0
    assert bot.state.last_reason == "No deal open: cooling down after the last deal."
    profit = sell.realized_pnl
    assert profit == sell.qty * tp - sell.fee - sum(
        t.qty * t.price + t.fee for t in trades(bot)[:2]
    )

    page = client.get(f"/bots/{bot.id}").get_data(as_text=True)
    assert 'data-testid="past-deal" data-deal="1"' in page
    assert f'data-testid="deal-profit">+{profit.quantize(Decimal("0.0001")):f} USDT' in page
    assert "No deal open: cooling down after the last deal." in page

    # Five minutes (of market time) after, deal 2's base order; not a minute before.
    for _ in range(4):
        step(sim, clock, "BTC/USDT", "50500")
        run_cycle(bot.id)
    assert len(trades(bot)) == 3
    step(sim, clock, "BTC/USDT", "50500")
    run_cycle(bot.id)
    assert len(trades(bot)) == 4
    assert trades(bot)[-1].side.value == "buy"
    assert "d2b" not in active(bot)

    # Stop: the tick's cycle cancels the deal's orders.
    step(sim, clock, "BTC/USDT", "50500")
    run_cycle(bot.id)
    assert len(on_exchange(bot)) == 3
    service.stop_by_owner(bot)
    db.session.commit()
    tick()
    assert run_cycle(bot.id).outcome is Outcome.STOPPED
    assert on_exchange(bot) == set()


def test_the_deals_stop_loss_sells_at_once(bot_app, sim, clock, make_bot):
    bot = dca_bot(make_bot, params={**DCA, "stop_loss_pct": "3", "max_active_safety_orders": 1})
    for price in ("50000", "50000"):
        step(sim, clock, "BTC/USDT", price)
        run_cycle(bot.id)
    # 49,000 fills, the average falls to ~49,716 (fees in); 48,100 is more than 3% below:
    # the cycle that records the fill sells the position.
    step(sim, clock, "BTC/USDT", "48100")
    run_cycle(bot.id)
    assert [t.side.value for t in trades(bot)] == ["buy", "buy", "sell"]
    sold = trades(bot)[-1]
    assert (sold.side.value, sold.qty) == ("sell", Decimal("0.003"))
    assert sold.price == Decimal("48100")
    assert sold.realized_pnl < 0
    assert on_exchange(bot) == set()
    assert active(bot) == {}


def test_signals_open_and_close_deals(bot_app, sim, clock, make_bot, client):
    bot = dca_bot(make_bot, params={**DCA, "entry": "signal", "cooldown_minutes": 0})
    db.session.refresh(bot)
    url = f"/signals/{signals.signal_token(bot)}"
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    assert trades(bot) == []
    db.session.refresh(bot.state)
    assert bot.state.last_reason == "No deal open: waiting for a start_deal signal."

    answer = client.post(url, data='{"action": "start_deal"}', csrf=False)
    assert answer.status_code == 202
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    assert [t.side.value for t in trades(bot)] == ["buy"]
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    assert len(on_exchange(bot)) == 3

    answer = client.post(url, data='{"action": "close"}', csrf=False)
    assert answer.status_code == 202
    step(sim, clock, "BTC/USDT", "50100")
    run_cycle(bot.id)
    assert [t.side.value for t in trades(bot)] == ["buy", "sell"]
    assert on_exchange(bot) == set()
    db.session.expire_all()
    done = db.session.scalars(
        sa.select(BotSignal).where(BotSignal.bot_id == bot.id).order_by(BotSignal.id)
    ).all()
    assert [(s.status, s.outcome) for s in done] == [
        (SignalStatus.DONE, "signal start_deal: deal 1 opened"),
        (SignalStatus.DONE, "signal close: deal 1 closed at the price"),
    ]
    # No new deal without a new signal.
    step(sim, clock, "BTC/USDT", "50100")
    run_cycle(bot.id)
    assert len(trades(bot)) == 2


def test_a_bot_started_again_takes_profit_on_the_position_it_holds(bot_app, sim, clock, make_bot):
    bot = dca_bot(make_bot)
    for _ in range(2):
        step(sim, clock, "BTC/USDT", "50000")
        run_cycle(bot.id)
    service.stop_by_owner(bot)
    db.session.commit()
    tick()
    run_cycle(bot.id)
    assert on_exchange(bot) == set()
    service.start_bot(bot)
    db.session.commit()
    step(sim, clock, "BTC/USDT", "50000")
    run_cycle(bot.id)
    assert len(trades(bot)) == 1  # no second base order
    assert sorted(active(bot)) == ["d0tp"]
    assert on_exchange(bot) == {("sell", float(take_profit_of(bot)), 0.002)}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({**DCA, "deviation_pct": "30"}, "params.deviation_pct", "must add up to less than 100%"),
        ({**DCA, "max_safety_orders": 51}, "params.max_safety_orders", "at most 50"),
        ({**DCA, "base_order": "1e999"}, "params.base_order", "too large"),
        ({**DCA, "take_profit_pct": "NaN"}, "params.take_profit_pct", "must be a number"),
        ({**DCA, "entry": "moon"}, "params.entry", "must be one of immediately, rsi, signal"),
    ],
)
def test_a_bad_dca_is_refused_and_nothing_is_saved(make_bot, params, field, message):
    before = db.session.scalar(sa.select(sa.func.count(Bot.id)))
    with pytest.raises(BotValidationError) as caught:
        dca_bot(make_bot, params=params)
    assert message in caught.value.errors[field]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Bot.id))) == before


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (
            {**DCA, "safety_order": "4"},
            "The exchange would refuse this bot's orders: order of 3.92 USDT is below the "
            "exchange minimum of 5 USDT.",
        ),
        (
            # 100 + 1,000 * (1 + 10 + 100) USDT: more than the 100,000 the key holds.
            {**DCA, "volume_scale": "10", "safety_order": "1000"},
            "This bot may spend up to 111100 USDT but the key holds 100000 USDT free",
        ),
    ],
)
def test_a_deal_the_exchange_or_the_balance_would_refuse_is_reported_before_start(
    bot_app, sim, clock, make_bot, client, params, reason
):
    bot = dca_bot(make_bot, start=False, params=params)
    step(sim, clock, "BTC/USDT", "50000")
    login(client)
    answer = client.post(f"/bots/{bot.id}/start", headers={"HX-Request": "true"})
    assert answer.status_code == 422
    assert reason in html.unescape(answer.get_data(as_text=True))
    db.session.expire_all()
    assert bot.state.status.value == "stopped"
    assert sim.orders() == []


def test_a_script_reads_the_deal_through_the_api(bot_app, sim, clock, make_bot, user, client):
    from webapp.tokens import service as tokens

    bot = dca_bot(make_bot)
    for price in ("50000", "50000", "48900"):
        step(sim, clock, "BTC/USDT", price)
        run_cycle(bot.id)
    _, token = tokens.create_token(user, "script", ["read"], 30)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get(f"/api/v1/bots/{bot.id}/deals", headers=headers)
    assert answer.status_code == 200, answer.json
    current = answer.json["current"]
    assert current["deal"] == 1
    assert [(lv["n"], lv["state"]) for lv in current["levels"]] == [
        (0, "filled"), (1, "filled"), (2, "resting"), (3, "resting")
    ]  # fmt: skip
    assert [(Decimal(lv["price"]), Decimal(lv["qty"])) for lv in current["levels"][1:]] == SAFETY
    assert Decimal(current["take_profit"]) == take_profit_of(bot)
    assert answer.json["past"] == []
    # Another strategy's bot has no deals.
    other = make_bot()
    answer = client.get(f"/api/v1/bots/{other.id}/deals", headers=headers)
    assert answer.json == {"current": None, "past": [], "waiting": None}
