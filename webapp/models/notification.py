"""Notifications: per-user preferences, webhook endpoint, quiet hours, and the outbox.

The outbox (`Notification`) is the source of truth for delivery: a row is written in the same
transaction as the event that causes it, and workers move it from `pending` to `sent` or
`failed`. Redis only carries the jobs that wake a worker up, so losing Redis loses no message.
"""

from __future__ import annotations

import enum
import os
import time
from datetime import datetime
from datetime import time as dtime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.types import string_enum as _enum
from webapp.models.user import User

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_id() -> str:
    """A ULID-style `msg_...` id: sortable by creation time, unique, without '.' or spaces.

    It is shown to users, used in URLs, and sent as the `webhook-id` header so receivers can
    ignore a retried delivery they already processed.
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "msg_" + "".join(reversed(chars))


class NotificationChannel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    TELEGRAM = "telegram"
    SMS = "sms"

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self.value]


_CHANNEL_LABELS = {"email": "Email", "webhook": "Webhook", "telegram": "Telegram", "sms": "SMS"}


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    RATE_LIMITED = "rate_limited"  # over a channel's own cap (SMS per day): never sent


class NotificationPreference(db.Model):
    """An explicit choice; without a row the default of `webapp.notify.preferences` applies."""

    __tablename__ = "notification_preferences"
    __table_args__ = (sa.UniqueConstraint("user_id", "event_type", "channel"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    event_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    channel: so.Mapped[NotificationChannel] = so.mapped_column(_enum(NotificationChannel))
    enabled: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(db.Model):
    """One of a user's webhook receivers, with the events it wants. A user may have several,
    each with its own secret (stored encrypted with ENCRYPTION_KEY) and its own on/off."""

    __tablename__ = "webhook_endpoints"
    # One endpoint per URL and user (the URL is at most 2048 bytes, so PostgreSQL can index it).
    __table_args__ = (
        sa.UniqueConstraint("user_id", "url", name="uq_webhook_endpoints_user_id_url"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(2048))
    # The event types (EventType values) this endpoint is sent.
    events: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    secret_encrypted: so.Mapped[str] = so.mapped_column(sa.Text)
    # After a rotation the old secret keeps signing too until it expires, so a receiver has
    # time to switch without rejecting our webhooks.
    previous_secret_encrypted: so.Mapped[str | None] = so.mapped_column(sa.Text)
    previous_secret_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    secret_rotated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    enabled: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    # Notifications that failed every attempt in a row; reset by any success.
    consecutive_failures: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    disabled_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    disabled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_success_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped[User] = so.relationship()

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} user={self.user_id} enabled={self.enabled}>"


class QuietHours(db.Model):
    """A daily period (in the user's time zone) during which routine events wait."""

    __tablename__ = "quiet_hours"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    start_time: so.Mapped[dtime] = so.mapped_column(sa.Time)
    end_time: so.Mapped[dtime] = so.mapped_column(sa.Time)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Notification(db.Model):
    """One message to one user over one channel: the outbox row."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The sweeper: due pending rows.
        sa.Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        # Per-user ordering (older pending rows of a lane) and the user's list.
        sa.Index("ix_notifications_user_id_channel_status", "user_id", "channel", "status"),
        sa.Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        # Cleanup: old sent / failed rows.
        sa.Index("ix_notifications_status_updated_at", "status", "updated_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    public_id: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True, default=new_public_id)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    event_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    channel: so.Mapped[NotificationChannel] = so.mapped_column(_enum(NotificationChannel))
    # The webhook endpoint a webhook row goes to (NULL for other channels, or once the
    # endpoint is deleted: the history keeps the row, delivery then fails).
    endpoint_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="SET NULL"), index=True
    )
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    status: so.Mapped[NotificationStatus] = so.mapped_column(
        _enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    next_attempt_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # A worker's claim on the row; another worker may take it only after this passes.
    locked_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    last_status_code: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User] = so.relationship()
    endpoint: so.Mapped[WebhookEndpoint | None] = so.relationship()

    def __repr__(self) -> str:
        return (
            f"<Notification {self.public_id} {self.event_type} {self.channel} "
            f"{self.status} attempts={self.attempts}>"
        )
