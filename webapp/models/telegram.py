"""Telegram: the installation's one bot, the chats users linked to it, and one-time link codes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow


class TelegramBot(db.Model):
    """The installation's bot (a single row, id 1): its token encrypted with ENCRYPTION_KEY,
    what `getMe` said about it, and the `getUpdates` offset, so a restarted poller handles no
    update twice. With TELEGRAM_BOT_TOKEN in the environment the row keeps only the offset."""

    __tablename__ = "telegram_bot"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_encrypted: so.Mapped[str | None] = so.mapped_column(sa.Text)
    bot_user_id: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    username: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    update_offset: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0, server_default="0")
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class TelegramChat(db.Model):
    """A user's linked chat: notifications go there and commands from it act for the user."""

    __tablename__ = "telegram_chats"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: so.Mapped[int] = so.mapped_column(sa.BigInteger, unique=True)
    username: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    linked_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # `/mute HOURS`: routine notifications wait until then (critical ones still come).
    muted_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class TelegramLinkCode(db.Model):
    """A one-time `/start` code (stored as its SHA-256: the code itself binds a chat)."""

    __tablename__ = "telegram_link_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
