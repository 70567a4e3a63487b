"""Migrations build exactly the schema the models describe, and tear it down again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.support.database import private_database
from webapp import create_app
from webapp.extensions import db


def _extended_statistics(engine: sa.Engine) -> set[str]:
    """PostgreSQL's planner statistics, which autogenerate does not compare."""
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT stxname FROM pg_statistic_ext")))


def test_upgrade_matches_models_and_downgrade_removes_everything(app, config_class, tmp_path):
    import os

    from webapp.models.bot import TRADES_BOT_USER_STATISTICS

    from_models = _extended_statistics(db.engine)  # the suite's schema, from create_all
    if db.engine.dialect.name == "postgresql":
        assert TRADES_BOT_USER_STATISTICS in from_models
    with private_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as url:
        config = type("MigrationConfig", (config_class,), {"SQLALCHEMY_DATABASE_URI": url})
        app = create_app(config)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
                assert diff == [], f"models and migrations disagree: {diff}"
                tables = set(sa.inspect(conn).get_table_names())
            assert {table.name for table in db.metadata.sorted_tables} <= tables
            assert _extended_statistics(db.engine) == from_models
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
            assert _extended_statistics(db.engine) == set()
            db.engine.dispose()


def test_upgrade_fills_the_trade_rollups_from_the_trades_already_recorded(config_class, tmp_path):
    """An installation with history gets the rows the app would have kept trade by trade."""
    import os
    import random
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal
    from types import SimpleNamespace

    from webapp.engine import rollups
    from webapp.models import (
        Bot,
        BotMode,
        BotPnlDay,
        BotState,
        Trade,
        TradeReason,
        TradeSide,
        User,
        UserPnlDay,
    )

    rng = random.Random(11)
    with private_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as url:
        config = type("MigrationConfig", (config_class,), {"SQLALCHEMY_DATABASE_URI": url})
        app = create_app(config)
        with app.app_context():
            upgrade(revision="201ba0f5195d")  # before the rollups
            # Core, not the ORM: the model has columns this old schema does not have yet.
            users = [
                SimpleNamespace(
                    id=db.session.execute(
                        sa.insert(User.__table__)
                        .values(email=f"u{n}@example.com", password_hash="x")
                        .returning(User.__table__.c.id)
                    ).scalar_one()
                )
                for n in range(2)
            ]
            db.session.commit()

            def old_bot(user_id: int, name: str) -> SimpleNamespace:
                bot_id = db.session.execute(
                    sa.insert(Bot.__table__)
                    .values(
                        user_id=user_id, name=name, exchange="binance", symbol="BTC/USDT",
                        timeframe="1m", strategy="ema_cross", params={"fast": 3, "slow": 5},
                        quote_amount=Decimal(100), interval_seconds=10, mode="paper",
                        order_token=f"tok{name.lower():0>5}", created_at=start, updated_at=start,
                    )
                    .returning(Bot.__table__.c.id)
                ).scalar_one()  # fmt: skip
                db.session.execute(
                    sa.insert(BotState.__table__).values(bot_id=bot_id, status="stopped")
                )
                return SimpleNamespace(
                    id=bot_id, user_id=user_id, symbol="BTC/USDT", mode=BotMode.PAPER
                )

            start = datetime(2026, 2, 27, 22, 0, tzinfo=UTC)
            bots = [old_bot(u.id, f"B{n}") for u in users for n in range(2)]
            db.session.commit()
            rows = []
            for n in range(400):
                bot = rng.choice(bots)
                sell = rng.random() < 0.5
                at = start + timedelta(minutes=rng.randint(0, 5 * 1440), microseconds=n)
                rows.append({
                    "bot_id": bot.id, "user_id": bot.user_id, "symbol": bot.symbol,
                    "side": TradeSide.SELL if sell else TradeSide.BUY,
                    "qty": Decimal("0.001"), "price": Decimal(60000),
                    "fee": Decimal(rng.randint(0, 90)) / 1000,
                    "realized_pnl": Decimal(rng.randint(-500, 500)) / 7 if sell else None,
                    "reason": TradeReason.SIGNAL, "client_order_id": f"m-{n}", "mode": bot.mode,
                    "executed_at": at, "created_at": at,
                })  # fmt: skip
            db.session.execute(Trade.__table__.insert(), rows)
            db.session.commit()

            upgrade()

            def stored():
                return [
                    [tuple(r) for r in db.session.execute(sa.select(t).order_by(*t.primary_key))]
                    for t in (BotPnlDay.__table__, UserPnlDay.__table__)
                ]

            filled = stored()
            assert len(filled[0]) >= 12 and len(filled[1]) >= 6
            for user in users:
                rollups.rebuild_user(db.session.connection(), user.id)
            db.session.commit()
            assert stored() == filled
            db.session.remove()
            downgrade(revision="base")
            db.engine.dispose()
