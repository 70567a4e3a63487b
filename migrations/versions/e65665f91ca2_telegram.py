"""telegram: the installation's bot (encrypted token, getUpdates offset), linked chats and
one-time link codes (stored as SHA-256 hashes)

Revision ID: e65665f91ca2
Revises: 881bb12ade3f
Create Date: 2026-12-03 12:59:44.550887

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e65665f91ca2"
down_revision = "881bb12ade3f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "telegram_bot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("bot_user_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("update_offset", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_bot")),
    )
    op.create_table(
        "telegram_chats",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("muted_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_telegram_chats_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_telegram_chats")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_telegram_chats_chat_id")),
    )
    op.create_table(
        "telegram_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_telegram_link_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_telegram_link_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_telegram_link_codes_user_id"), "telegram_link_codes", ["user_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_telegram_link_codes_user_id"), table_name="telegram_link_codes")
    op.drop_table("telegram_link_codes")
    op.drop_table("telegram_chats")
    op.drop_table("telegram_bot")
