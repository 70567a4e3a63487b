"""Binding a Telegram chat to a user with a one-time `/start` code.

The notifications page asks for a code (valid 10 minutes, stored only as its SHA-256); the
bot receives `/start CODE` from a chat and binds that chat to the code's user. A code works
once; a chat belongs to one user and a user has one chat (linking again replaces it).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.i18n.marks import N_
from webapp.models import TelegramChat, TelegramLinkCode
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=10)
#: `/start` parameters may use A-Z, a-z, 0-9, _ and - (64 characters at most).
CODE_BYTES = 12


class LinkRefused(Exception):
    """The code is unknown, used or expired; the message is the bot's polite reply."""


@dataclass(frozen=True)
class NewCode:
    code: str
    expires_at: datetime


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_code(user_id: int, now: datetime | None = None) -> NewCode:
    """A fresh code for the user (the caller commits); earlier unused codes stop working."""
    now = now or utcnow()
    db.session.execute(
        sa.delete(TelegramLinkCode).where(
            TelegramLinkCode.user_id == user_id, TelegramLinkCode.used_at.is_(None)
        )
    )
    code = secrets.token_urlsafe(CODE_BYTES)
    expires = now + CODE_TTL
    db.session.add(
        TelegramLinkCode(code_hash=_hash(code), user_id=user_id, expires_at=expires, created_at=now)
    )
    return NewCode(code, expires)


def pending_code_expires(user_id: int, now: datetime | None = None) -> datetime | None:
    now = now or utcnow()
    return db.session.scalar(
        sa.select(sa.func.max(TelegramLinkCode.expires_at)).where(
            TelegramLinkCode.user_id == user_id,
            TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.expires_at > now,
        )
    )


def bind(code: str, chat_id: int, username: str | None, now: datetime | None = None) -> int:
    """Bind `chat_id` to the code's user and use the code up (the caller commits); returns
    the user id. Raises LinkRefused for an unknown, used or expired code."""
    now = now or utcnow()
    if not code or len(code) > 64:
        raise LinkRefused(UNKNOWN)
    # Use the code up first, in one UPDATE, so two /start messages cannot both bind.
    used = db.session.execute(
        sa.update(TelegramLinkCode)
        .where(
            TelegramLinkCode.code_hash == _hash(code),
            TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(TelegramLinkCode.user_id)
        .execution_options(synchronize_session=False)
    ).first()
    if used is None:
        known = db.session.scalar(
            sa.select(TelegramLinkCode).where(TelegramLinkCode.code_hash == _hash(code))
        )
        if known is not None and known.used_at is None:
            raise LinkRefused(EXPIRED)
        raise LinkRefused(UNKNOWN)
    user_id = used[0]
    # The chat may have belonged to someone else, or the user may have had another chat.
    db.session.execute(
        sa.delete(TelegramChat).where(
            sa.or_(TelegramChat.chat_id == chat_id, TelegramChat.user_id == user_id)
        )
    )
    db.session.flush()
    db.session.add(
        TelegramChat(
            user_id=user_id, chat_id=chat_id, username=(username or "")[:64] or None, linked_at=now
        )
    )
    logger.info("user %s linked a Telegram chat", user_id)
    return user_id


UNKNOWN = N_(
    "Sorry, I do not know that code. Open the notifications page of Tradebots and press "
    "“Connect Telegram” for a new link."
)
EXPIRED = N_(
    "Sorry, that code has expired (codes last 10 minutes). Press “Connect Telegram” on the "
    "notifications page again for a new one."
)


def chat_of(user_id: int) -> TelegramChat | None:
    return db.session.get(TelegramChat, user_id)


def chat_by_id(chat_id: int) -> TelegramChat | None:
    return db.session.scalar(sa.select(TelegramChat).where(TelegramChat.chat_id == chat_id))


def unlink(user_id: int, chat_id: int | None = None) -> bool:
    """Unbind the user's chat (only if it is still `chat_id`, when given); the caller commits."""
    query = sa.delete(TelegramChat).where(TelegramChat.user_id == user_id)
    if chat_id is not None:
        query = query.where(TelegramChat.chat_id == chat_id)
    removed = db.session.execute(query).rowcount
    if removed:
        logger.info("user %s's Telegram chat unlinked", user_id)
    return bool(removed)
