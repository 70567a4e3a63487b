"""The daily rollups give exactly the figures a pass over every trade gives.

Random histories go through the engine's own recording (`record`, in the cycle's transaction):
several bots of one user, buys, sells of part of the position and of all of it, fees charged
in the quote currency, in the base currency (the bought quantity shrinks) or in a third asset
(not counted), trades on both sides of UTC midnight and fills whose exchange time is earlier
than the trade recorded before them. The reports the pages and the API show must equal
`summarize` over the stored trades, field for field, and the incrementally kept rows must
equal rows rebuilt from scratch.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.bots.helpers import add_trade, make_bot
from webapp.engine import orders, rollups, service
from webapp.engine.ledger import record_fill
from webapp.engine.marketdata import MarketInfo
from webapp.engine.reports import summarize
from webapp.extensions import db
from webapp.models import BotPnlDay, BotState, Trade, TradeReason, TradeSide, UserPnlDay
from webapp.models.types import utcnow

MARKET = MarketInfo(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    active=True,
    amount_step=D("0.0001"),
    min_qty=None,
    max_qty=None,
    min_notional=None,
    taker_fee=D("0.001"),
)
FIELDS = (
    "trade_count",
    "buys",
    "sells",
    "wins",
    "total_realized_pnl",
    "total_fees",
    "win_rate",
    "max_drawdown",
    "last_trade_at",
    "realized_pnl_7d",
)


def _figures(report) -> dict:
    return {name: getattr(report, name) for name in FIELDS}


def _commission(rng: random.Random, side: str, qty: D, price: D) -> list[dict]:
    """What an exchange reports as a fill's commission: quote, base or a third asset."""
    kind = rng.choice(["quote", "quote", "base", "bnb", "none"])
    if kind == "quote":
        return [{"commission": str((qty * price * D("0.001")).quantize(D("0.00000001"))),
                 "commissionAsset": "USDT"}]  # fmt: skip
    if kind == "base":
        return [{"commission": str((qty * D("0.001")).quantize(D("0.00000001"))),
                 "commissionAsset": "BTC"}]  # fmt: skip
    if kind == "bnb":
        return [{"commission": "0.00012", "commissionAsset": "BNB"}]
    return []


def _times(rng: random.Random, count: int) -> list[datetime]:
    """Mostly increasing times over the last 10 UTC days, many on either side of midnight,
    some earlier than the one before (an exchange clock behind ours)."""
    midnight = datetime.combine(utcnow().date(), datetime.min.time(), tzinfo=UTC)
    at = midnight - timedelta(days=10)
    times = []
    for _ in range(count):
        step = rng.choice(["minutes", "hours", "to-midnight", "back"])
        if step == "minutes":
            at += timedelta(minutes=rng.randint(1, 90), microseconds=rng.randint(0, 999_999))
        elif step == "hours":
            at += timedelta(hours=rng.randint(1, 20))
        elif step == "to-midnight":
            next_midnight = datetime.combine(at.date() + timedelta(days=1), datetime.min.time(),
                                             tzinfo=UTC)  # fmt: skip
            at = next_midnight + rng.choice(
                [timedelta(microseconds=-1), timedelta(0), timedelta(microseconds=1)]
            )
        times.append(min(at, utcnow()) - (timedelta(minutes=rng.randint(1, 120)) if step == "back"
                                          else timedelta(0)))  # fmt: skip
    return times


def _play(app, user, bots, rng: random.Random, count: int) -> None:
    """`count` fills through the engine's recording, on random bots."""
    prices = {bot.id: D(rng.randint(55_000, 65_000)) for bot in bots}
    for n, at in enumerate(_times(rng, count)):
        bot = rng.choice(bots)
        state = db.session.get(BotState, bot.id)
        prices[bot.id] += D(rng.randint(-900, 900))
        price = prices[bot.id]
        if state.position_qty > 0 and rng.random() < 0.55:
            side = "sell"
            held = state.position_qty
            qty = held if rng.random() < 0.5 else (held * D(rng.randint(1, 9)) / 10)
            qty = max(D("0.0001"), qty.quantize(D("0.0001"), rounding="ROUND_DOWN"))
            qty = min(qty, held)
        else:
            side = "buy"
            qty = D(rng.randint(1, 50)) / 1000
        fee, net_qty, note = orders._fees(_commission(rng, side, qty, price), MARKET, qty, price,
                                          side)  # fmt: skip
        fill = orders.Fill(qty=net_qty, price=price, fee=fee, exchange_order_id=None,
                           executed_at=at, note=note)  # fmt: skip
        reason = TradeReason.SIGNAL if side == "buy" else rng.choice(list(TradeReason))
        record_fill(bot, state, side, fill, reason, f"eq-{bot.id}-{n}", utcnow())
        db.session.commit()


def _stored(where) -> list[Trade]:
    return list(db.session.scalars(sa.select(Trade).where(where).order_by(Trade.executed_at,
                                                                          Trade.id)))  # fmt: skip


def _rows(table) -> list[tuple]:
    columns = [c for c in table.c]
    return [tuple(r) for r in db.session.execute(sa.select(*columns).order_by(*table.primary_key))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_figures_equal_a_full_recomputation(app, auth, seed):
    rng = random.Random(seed)
    user = auth.create_user(f"rollups{seed}@example.com")
    other = auth.create_user(f"other{seed}@example.com")
    bots = [make_bot(user, None, f"Bot {n}") for n in range(3)]
    bystander = make_bot(other, None, "Not theirs")
    add_trade(bystander, "buy", "1", "100", at=utcnow() - timedelta(days=1))
    _play(app, user, bots, rng, 60)
    db.session.expire_all()
    today = utcnow().date()

    every = _stored(Trade.user_id == user.id)
    assert {t.fee for t in every} != {D(0)} and any(t.side == TradeSide.SELL for t in every)
    assert len({t.executed_at.date() for t in every}) >= 5  # several UTC days
    for bot in bots:
        trades = _stored(Trade.bot_id == bot.id)
        expected = summarize(trades, today=today)
        report = service.bot_report(bot)
        assert _figures(report) == _figures(expected), f"bot {bot.id}"
        assert report.points == expected.points  # few sells: the exact curve

    summary = service.user_summary(user)
    expected = summarize(every, today=today)
    assert _figures(summary.report) == _figures(expected)
    assert summary.report.points == expected.points
    for bot in bots:
        assert _figures(summary.per_bot[bot.id]) == _figures(
            summarize(_stored(Trade.bot_id == bot.id), today=today)
        )
    assert service.last_trade_id(user) == max(t.id for t in every)

    first_day, last_day = today - timedelta(days=6), today - timedelta(days=2)
    for bot_id in (None, bots[0].id):
        for side in (None, "buy", "sell"):
            for start, end in ((None, None), (first_day, None), (first_day, last_day)):
                counted = service.count_trades(
                    user, bot_id=bot_id, side=side, first_day=start, last_day=end
                )
                assert counted == sum(
                    1
                    for t in every
                    if (bot_id is None or t.bot_id == bot_id)
                    and (side is None or t.side.value == side)
                    and (start is None or t.executed_at.date() >= start)
                    and (end is None or t.executed_at.date() <= end)
                )

    # The rows kept trade by trade are the rows a rebuild from the trades writes.
    kept = (_rows(BotPnlDay.__table__), _rows(UserPnlDay.__table__))
    rollups.rebuild_user(db.session.connection(), user.id)
    rollups.rebuild_user(db.session.connection(), other.id)
    db.session.commit()
    assert (_rows(BotPnlDay.__table__), _rows(UserPnlDay.__table__)) == kept


def test_deleting_a_bot_takes_its_trades_out_of_the_users_figures(app, auth):
    rng = random.Random(7)
    user = auth.create_user("deleter@example.com")
    bots = [make_bot(user, None, f"Bot {n}") for n in range(2)]
    _play(app, user, bots, rng, 30)
    gone = bots[0]
    service.delete_bot(gone, wait_seconds=1)
    db.session.commit()
    db.session.expire_all()
    left = _stored(Trade.user_id == user.id)
    summary = service.user_summary(user)
    assert _figures(summary.report) == _figures(summarize(left, today=utcnow().date()))
    assert list(summary.per_bot) == ([bots[1].id] if left else [])
    assert not db.session.scalar(sa.select(sa.func.count()).where(BotPnlDay.bot_id == gone.id))


def test_a_long_history_sends_a_bounded_curve_with_its_extremes(app, auth):
    """Past MAX_POINTS sells the curve comes from the days' highs, lows and closes."""
    user = auth.create_user("long@example.com")
    bot = make_bot(user, None, "Long")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows, pnl = [], []
    for n in range(2400):  # two sells an hour for 50 days, a deep fall on day 30
        value = D(-40) if 720 <= n < 760 else D(rng_value(n))
        pnl.append(value)
        rows.append({
            "bot_id": bot.id, "user_id": user.id, "side": TradeSide.SELL, "symbol": bot.symbol,
            "qty": D("0.001"), "price": D(60000), "fee": D("0.06"), "realized_pnl": value,
            "reason": TradeReason.SIGNAL, "client_order_id": f"long-{n}", "mode": bot.mode,
            "executed_at": start + timedelta(minutes=30 * n),
            "created_at": start + timedelta(minutes=30 * n),
        })  # fmt: skip
    db.session.execute(Trade.__table__.insert(), rows)
    rollups.rebuild_user(db.session.connection(), user.id)
    db.session.commit()

    report = service.bot_report(bot)
    expected = summarize(_stored(Trade.bot_id == bot.id), today=utcnow().date())
    assert _figures(report) == _figures(expected)
    assert len(report.points) <= rollups.MAX_POINTS
    curve = [p.cumulative for p in report.points]
    full = [p.cumulative for p in expected.points]
    assert max(curve) == max(full) and min(curve) == min(full)
    assert curve[-1] == full[-1] == expected.total_realized_pnl
    assert sum(p.pnl for p in report.points) == expected.total_realized_pnl
    times = [p.at for p in report.points]
    assert times == sorted(times)


def rng_value(n: int) -> int:
    return (n * 7919) % 11 - 4


def test_concurrent_cycles_of_one_users_bots_lose_no_update(app, auth):
    """Two bots recording at the same time share the user's day row: it is locked, not
    overwritten, so the figures still equal a recomputation."""
    import threading

    user = auth.create_user("busy@example.com")
    bots = [make_bot(user, None, f"Bot {n}") for n in range(2)]
    ids = [(bot.id, user.id) for bot in bots]
    start = utcnow() - timedelta(hours=2)
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def record(bot_id: int, user_id: int, offset: int) -> None:
        try:
            with app.app_context():
                barrier.wait(10)
                for n in range(15):
                    sell = n % 2 == 1
                    db.session.add(Trade(
                        bot_id=bot_id, user_id=user_id, symbol="BTC/USDT",
                        side=TradeSide.SELL if sell else TradeSide.BUY,
                        qty=D("0.01"), price=D(60000 + n), fee=D("0.06"),
                        realized_pnl=D(n - 7) / 3 if sell else None,
                        reason=TradeReason.SIGNAL, client_order_id=f"c-{bot_id}-{n}",
                        mode=bots[0].mode,
                        executed_at=start + timedelta(minutes=2 * n + offset, seconds=offset),
                    ))  # fmt: skip
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=record, args=(*ids[n], n)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    db.session.expire_all()
    every = _stored(Trade.user_id == user.id)
    assert len(every) == 30
    summary = service.user_summary(user)
    assert _figures(summary.report) == _figures(summarize(every, today=utcnow().date()))
    kept = (_rows(BotPnlDay.__table__), _rows(UserPnlDay.__table__))
    rollups.rebuild_user(db.session.connection(), user.id)
    db.session.commit()
    assert (_rows(BotPnlDay.__table__), _rows(UserPnlDay.__table__)) == kept
