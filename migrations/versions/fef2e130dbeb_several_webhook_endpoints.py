"""several webhook endpoints per user, each with its own events; a webhook notification
names the endpoint it went to

The user's existing endpoint becomes their first one, subscribed to the events they had
turned on for the webhook channel; their webhook notifications are attributed to it.

Revision ID: fef2e130dbeb
Revises: a1b050bf5046
Create Date: 2026-12-03 14:20:08.675195

"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "fef2e130dbeb"
down_revision = "a1b050bf5046"
branch_labels = None
depends_on = None

endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("events", sa.JSON),
)
preferences = sa.table(
    "notification_preferences",
    sa.column("user_id", sa.Integer),
    sa.column("event_type", sa.String),
    sa.column("channel", sa.String),
    sa.column("enabled", sa.Boolean),
    sa.column("updated_at", sa.DateTime),
)
notifications = sa.table(
    "notifications",
    sa.column("user_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("endpoint_id", sa.Integer),
)


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("endpoint_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_notifications_endpoint_id"), ["endpoint_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_endpoint_id_webhook_endpoints"),
            "webhook_endpoints",
            ["endpoint_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("events", sa.JSON(), nullable=True))

    conn = op.get_bind()
    for endpoint_id, user_id in conn.execute(sa.select(endpoints.c.id, endpoints.c.user_id)):
        chosen = conn.scalars(
            sa.select(preferences.c.event_type)
            .where(
                preferences.c.user_id == user_id,
                preferences.c.channel == "webhook",
                preferences.c.enabled == sa.true(),
            )
            .order_by(preferences.c.event_type)
        ).all()
        conn.execute(
            endpoints.update().where(endpoints.c.id == endpoint_id).values(events=list(chosen))
        )
        conn.execute(
            notifications.update()
            .where(notifications.c.user_id == user_id, notifications.c.channel == "webhook")
            .values(endpoint_id=endpoint_id)
        )
    # The webhook column of the preferences now lives on each endpoint.
    conn.execute(preferences.delete().where(preferences.c.channel == "webhook"))

    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column("events", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_webhook_endpoints_user_id"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_webhook_endpoints_user_id"), ["user_id"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_webhook_endpoints_user_id_url"), ["user_id", "url"]
        )


def downgrade():
    """Back to one endpoint per user: each user keeps their oldest endpoint, whose events
    become the webhook column of their preferences again."""
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    kept: set[int] = set()
    rows = conn.execute(
        sa.select(endpoints.c.id, endpoints.c.user_id, endpoints.c.events).order_by(
            endpoints.c.id
        )
    ).all()
    for endpoint_id, user_id, events in rows:
        if user_id in kept:
            conn.execute(endpoints.delete().where(endpoints.c.id == endpoint_id))
            continue
        kept.add(user_id)
        if isinstance(events, str):
            events = json.loads(events)
        for event in events or []:
            conn.execute(
                preferences.insert().values(
                    user_id=user_id,
                    event_type=event,
                    channel="webhook",
                    enabled=True,
                    updated_at=now,
                )
            )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_webhook_endpoints_user_id_url"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_webhook_endpoints_user_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_webhook_endpoints_user_id"), ["user_id"])
        batch_op.drop_column("events")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_endpoint_id_webhook_endpoints"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_notifications_endpoint_id"))
        batch_op.drop_column("endpoint_id")
