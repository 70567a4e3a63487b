"""backtests: the candles store (one row per bar, keyed by source, market and open time) and
backtest results (settings, progress, fingerprint, summary, trades, equity curve)

Candle prices are doubles (see webapp.models.backtest); the composite primary key is what
makes a resumed fetch or a repeated import skip bars already stored.

Revision ID: 80602ed44688
Revises: 201ba0f5195d
Create Date: 2026-12-03 12:58:11.859774

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "80602ed44688"
down_revision = "201ba0f5195d"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "candles",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("open", sa.Double(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("close", sa.Double(), nullable=False),
        sa.Column("volume", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("source", "symbol", "timeframe", "ts", name=op.f("pk_candles")),
    )
    op.create_table(
        "backtests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "fetching",
                "running",
                "done",
                "failed",
                "cancelled",
                name="backteststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("strategy", sa.String(length=40), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("sweep", sa.String(length=32), nullable=True),
        sa.Column("segment", sa.String(length=8), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("trades", sa.JSON(), nullable=True),
        sa.Column("equity", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_backtests_bot_id_bots"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_backtests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtests")),
    )
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backtests_bot_id"), ["bot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backtests_sweep"), ["sweep"], unique=False)
        batch_op.create_index("ix_backtests_user_id_id", ["user_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_index("ix_backtests_user_id_id")
        batch_op.drop_index(batch_op.f("ix_backtests_sweep"))
        batch_op.drop_index(batch_op.f("ix_backtests_bot_id"))

    op.drop_table("backtests")
    op.drop_table("candles")
