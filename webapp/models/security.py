"""Two-factor credentials: a TOTP secret (encrypted like API keys) and hashed recovery codes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class TotpCredential(db.Model):
    """One per user. `enabled_at` is None while the user has not yet confirmed a first code;
    `last_step` is the newest 30-second step accepted, so a code never works twice."""

    __tablename__ = "totp_credentials"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    enabled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_step: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)


class RecoveryCode(db.Model):
    """A single-use code for a lost authenticator; only its SHA-256 is kept (the codes carry
    80 random bits, so a fast hash cannot be brute-forced)."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class UserSession(db.Model):
    """One signed-in browser. The cookie carries a random id whose SHA-256 is kept here, so a
    session signed out on the Sessions page is refused even if its cookie is replayed.

    A session counts only while `password_fingerprint` matches the user's: a new password
    ends every session made before it without touching their rows.
    """

    __tablename__ = "user_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    password_fingerprint: so.Mapped[str] = so.mapped_column(sa.String(16))
    user_agent: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    """One security-relevant action, appended and never changed (the ORM refuses updates and
    deletes of these rows; only the retention clean-up removes old ones).

    `user_id` is whose account it concerns, `actor_id` who did it when that was someone else
    (an admin); both survive the user's deletion as NULL, with `email` kept for the record.
    """

    __tablename__ = "audit_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    action: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    description: so.Mapped[str] = so.mapped_column(sa.String(300))


class OperatorSetting(db.Model):
    """A switch an admin flips at run time (e.g. `trading_halted`), kept in the database so it
    survives restarts of every process and of Redis."""

    __tablename__ = "operator_settings"

    name: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    value: so.Mapped[str] = so.mapped_column(sa.String(255))
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
