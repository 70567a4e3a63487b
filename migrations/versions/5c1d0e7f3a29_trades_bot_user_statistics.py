"""trades: the planner learns that a trade's bot decides its user

Listing one bot's trades filters on both `bot_id` and `user_id` (the owner check). Without
statistics PostgreSQL multiplies the two selectivities, expects a fraction of the bot's trades
to survive, and on a deep cursor page reads the bot's whole index range and sorts it instead of
walking the index in order. `CREATE STATISTICS ... (dependencies)` records that `bot_id`
determines `user_id`; ANALYZE fills it. SQLite has no such statistics and needs none.

Revision ID: 5c1d0e7f3a29
Revises: 1a6a28a7dacc
Create Date: 2026-12-04 21:05:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "5c1d0e7f3a29"
down_revision = "1a6a28a7dacc"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE STATISTICS IF NOT EXISTS st_trades_bot_id_user_id (dependencies) "
        "ON bot_id, user_id FROM trades"
    )
    op.execute("ANALYZE trades")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP STATISTICS IF EXISTS st_trades_bot_id_user_id")
