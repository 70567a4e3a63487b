"""sms numbers: one phone number per user (E.164), its verification code (SHA-256) and why
SMS was turned off

Revision ID: a1b050bf5046
Revises: e65665f91ca2
Create Date: 2026-12-03 13:16:20.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1b050bf5046"
down_revision = "e65665f91ca2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sms_numbers",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(), nullable=True),
        sa.Column("code_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("code_sent_at", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sms_numbers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_sms_numbers")),
    )


def downgrade():
    op.drop_table("sms_numbers")
