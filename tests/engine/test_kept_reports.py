"""Reports kept per version of a history (`webapp.engine.kept`) stay exact.

Each view is compared with `summarize` over the stored trades after every trade, after a
bot is deleted, after a new bot takes the deleted one's id with as many trades, and after a
transaction that had added a trade is rolled back. A second view of an unchanged history
reads no day rows.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from tests.bots.helpers import add_trade, make_bot
from tests.engine.test_rollups import _figures, _stored
from webapp.engine import kept, service
from webapp.engine.reports import summarize
from webapp.extensions import db
from webapp.models import Trade, TradeReason, TradeSide
from webapp.models.types import utcnow


def _assert_exact(user, bots) -> None:
    db.session.expire_all()
    today = utcnow().date()
    summary = service.user_summary(user)
    every = _stored(Trade.user_id == user.id)
    assert _figures(summary.report) == _figures(summarize(every, today=today))
    assert summary.report.points == summarize(every, today=today).points
    assert summary.bots == len(bots)
    for bot in bots:
        expected = summarize(_stored(Trade.bot_id == bot.id), today=today)
        assert _figures(service.bot_report(bot)) == _figures(expected), f"bot {bot.id}"
        assert service.bot_report(bot).points == expected.points
        if expected.trade_count:
            assert _figures(summary.per_bot[bot.id]) == _figures(expected)
        else:
            assert bot.id not in summary.per_bot


def _trade(rng: random.Random, bot, at) -> None:
    side = rng.choice(["buy", "sell"])
    pnl = str(D(rng.randint(-500, 500)) / 100) if side == "sell" else None
    add_trade(bot, side, "0.01", str(rng.randint(50_000, 70_000)), fee="0.05", pnl=pnl, at=at)


def test_kept_figures_follow_every_trade_and_every_deleted_bot(app, auth):
    rng = random.Random(11)
    user = auth.create_user("kept@example.com")
    bots = [make_bot(user, None, "First"), make_bot(user, None, "Second")]
    start = utcnow() - timedelta(days=9)
    _assert_exact(user, bots)
    for n in range(24):
        _trade(rng, rng.choice(bots), start + timedelta(hours=9 * n))
        _assert_exact(user, bots)

    # A third bot trades last, so its trades hold the newest ids, and goes with them; a new
    # bot gets its id back on SQLite, and its trades theirs: the same ids and counts for the
    # user and for the bot as before the deletion, other prices and PnL.
    last = make_bot(user, None, "Last")
    bots.append(last)
    end = start + timedelta(days=9, hours=1)
    for n in range(3):
        add_trade(last, "sell", "0.01", "60000", pnl=str(n + 1), at=end + timedelta(minutes=n))
    _assert_exact(user, bots)
    before = service.trade_history(user), service.trade_history(user, last.id)
    last_id = last.id
    service.delete_bot(bots.pop(), wait_seconds=1)
    db.session.commit()
    _assert_exact(user, bots)
    again = make_bot(user, None, "Again")
    bots.append(again)
    for n in range(3):
        add_trade(again, "sell", "0.01", "60000", pnl=str(-n), at=end + timedelta(minutes=n))
    _assert_exact(user, bots)
    if db.engine.dialect.name == "sqlite":  # what a key of counts and ids alone would mix up
        assert again.id == last_id
        assert (service.trade_history(user), service.trade_history(user, again.id)) == before


def test_figures_read_before_a_rollback_are_not_kept(app, auth):
    user = auth.create_user("rollback@example.com")
    bot = make_bot(user, None, "Rolled back")
    add_trade(bot, "buy", "0.01", "60000", fee="0.05")
    db.session.add(
        Trade(
            bot_id=bot.id,
            user_id=user.id,
            side=TradeSide.SELL,
            symbol=bot.symbol,
            qty=D("0.01"),
            price=D("61000"),
            fee=D("0.05"),
            realized_pnl=D("9.9"),
            reason=TradeReason.SIGNAL,
            client_order_id="never-committed",
            exchange_order_id=None,
            mode=bot.mode,
            executed_at=utcnow(),
        )
    )
    db.session.flush()
    assert service.bot_report(bot).total_realized_pnl == D("9.9")  # inside the transaction
    assert service.user_summary(user).report.total_realized_pnl == D("9.9")
    db.session.rollback()

    # The next trade takes the rolled-back one's id on SQLite: the same count, the same id.
    add_trade(bot, "sell", "0.01", "59000", fee="0.05", pnl="-1.1")
    _assert_exact(user, [bot])
    assert service.bot_report(bot).total_realized_pnl == D("-1.1")


def test_a_second_view_of_an_unchanged_history_reads_no_day_rows(app, auth):
    user = auth.create_user("second@example.com")
    bot = make_bot(user, None, "Viewed")
    add_trade(bot, "buy", "0.01", "60000")
    add_trade(bot, "sell", "0.01", "61000", pnl="9.8")
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        first = service.user_summary(user), service.bot_report(bot)
        reads_days = [s for s in statements if "ORDER BY" in s and "pnl_days" in s]
        assert reads_days  # the first view folds the day rows
        statements.clear()
        second = service.user_summary(user), service.bot_report(bot)
        assert [s for s in statements if "ORDER BY" in s and "pnl_days" in s] == []
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert second[0].report is first[0].report and second[1] is first[1]
    assert len(kept.reports()) >= 2
