"""operator settings: run-time switches such as the admin trading halt

Revision ID: 881bb12ade3f
Revises: 257484485aa0
Create Date: 2026-12-03 13:15:43.258051

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "881bb12ade3f"
down_revision = "257484485aa0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "operator_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_operator_settings_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_operator_settings")),
    )


def downgrade():
    op.drop_table("operator_settings")
