"""A user's phone number for SMS notifications, usable only once verified by a code."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class SmsNumber(db.Model):
    """One number per user, in E.164. A new number starts unverified; the 6-digit code sent to
    it is stored as its SHA-256, with its expiry and the tries left."""

    __tablename__ = "sms_numbers"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    phone: so.Mapped[str] = so.mapped_column(sa.String(20))
    verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    code_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    code_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    code_attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    code_sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Set when the provider said the number cannot receive (invalid, or replied STOP).
    disabled_reason: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    @property
    def usable(self) -> bool:
        return self.verified_at is not None and self.disabled_reason is None
