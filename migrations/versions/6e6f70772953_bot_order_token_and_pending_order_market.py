"""bots: a random order token per bot; the market and mode of a pending order; failing since

Revision ID: 6e6f70772953
Revises: 40e65381c4d7
Create Date: 2026-11-22 17:10:46.224321

"""

import secrets
import string

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6e6f70772953"
down_revision = "40e65381c4d7"
branch_labels = None
depends_on = None

ALPHABET = string.ascii_lowercase + string.digits


def upgrade():
    with op.batch_alter_table("bot_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_symbol", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "pending_mode",
                sa.Enum("paper", "live", name="botmode", native_enum=False, length=16),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))

    # Existing bots get their own random token before the column becomes NOT NULL.
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_token", sa.String(length=8), nullable=True))
    conn = op.get_bind()
    bots = sa.table("bots", sa.column("id", sa.Integer), sa.column("order_token", sa.String))
    for (bot_id,) in conn.execute(sa.select(bots.c.id)).all():
        token = "".join(secrets.choice(ALPHABET) for _ in range(8))
        conn.execute(sa.update(bots).where(bots.c.id == bot_id).values(order_token=token))
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.alter_column("order_token", existing_type=sa.String(length=8), nullable=False)


def downgrade():
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_column("order_token")

    with op.batch_alter_table("bot_states", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
        batch_op.drop_column("pending_mode")
        batch_op.drop_column("pending_symbol")
