"""The audit log: one append-only table of security-relevant actions.

Pages and commands call `record` inside their own transaction. Changes that many areas make
(keys, tokens, bots, webhooks, passwords) are recorded by a flush hook on the models instead,
so whichever route, API call, command or job makes them, the log has them. Descriptions name
things (labels, prefixes, bot names), never a secret.
"""

from __future__ import annotations

import enum
import logging
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g, has_request_context, request

from webapp.extensions import db
from webapp.models import (
    ApiKey,
    ApiToken,
    AuditEvent,
    Bot,
    BotMode,
    BotState,
    BotStatus,
    SmsNumber,
    TelegramChat,
    User,
    WebhookEndpoint,
)
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)


class AuditAction(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    TWO_FACTOR_ENABLED = "2fa_enabled"
    TWO_FACTOR_DISABLED = "2fa_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    EMAIL_CHANGED = "email_changed"
    SESSION_REVOKED = "session_revoked"
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
    KEY_ADDED = "key_added"
    KEY_REMOVED = "key_removed"
    KEY_INVALID = "key_invalid"
    BOT_STARTED = "bot_started"
    BOT_STOPPED = "bot_stopped"
    BOT_LIVE = "bot_live"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    WEBHOOK_ADDED = "webhook_added"
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated"
    SIGNAL_URL_ROTATED = "signal_url_rotated"
    PHONE_ADDED = "phone_added"
    TELEGRAM_LINKED = "telegram_linked"
    ADMIN = "admin"
    ACCOUNT_EXPORTED = "account_exported"
    ACCOUNT_DELETED = "account_deleted"


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete an audit event through the ORM."""


def _context() -> tuple[int | None, str | None]:
    """(signed-in user id, client IP) of the current request, without loading anyone."""
    if not has_request_context():
        return None, None
    user = g.get("_login_user") or g.get("api_user")
    user_id = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    return user_id, request.remote_addr


def _event(action: AuditAction, user_id: int | None, description: str, **extra) -> AuditEvent:
    actor, ip = _context()
    return AuditEvent(
        action=action.value,
        user_id=user_id,
        actor_id=extra.get("actor_id", actor if actor != user_id else None),
        email=extra.get("email"),
        ip=extra.get("ip", ip),
        description=description[:300],
    )


def record(
    action: AuditAction,
    user: User | int | None,
    description: str,
    *,
    actor: User | None = None,
    email: str | None = None,
) -> AuditEvent:
    """Append one event to the caller's transaction (the caller commits)."""
    user_id = user.id if isinstance(user, User) else user
    extra = {}
    if actor is not None:
        extra["actor_id"] = actor.id
    if email is None and isinstance(user, User):
        email = user.email
    row = _event(action, user_id, description, email=email, **extra)
    db.session.add(row)
    logger.info("audit %s user=%s", action.value, user_id)
    return row


def recent(user: User | None = None, *, action: str | None = None, email: str | None = None):
    """Newest first: one user's events, or everyone's filtered by email and action."""
    query = sa.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if user is not None:
        query = query.where(AuditEvent.user_id == user.id)
    if action:
        query = query.where(AuditEvent.action == action)
    if email:
        query = query.where(AuditEvent.email == User.normalize_email(email))
    return query


def cleanup(keep_days: int) -> int:
    """Delete events older than `keep_days`; returns how many (the caller commits)."""
    cutoff = utcnow() - timedelta(days=keep_days)
    result = db.session.execute(
        sa.delete(AuditEvent)
        .where(AuditEvent.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- Changes recorded from the models ------------------------------------------------------------


def _changed(obj, name: str):
    """(old, new) if attribute `name` changed in this flush, else None."""
    history = sa.inspect(obj).attrs[name].history
    if not history.has_changes():
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0] if history.added else None
    return old, new


def _password_event(user: User) -> AuditEvent:
    endpoint = request.endpoint if has_request_context() else None
    if endpoint == "auth.reset_password":
        return _event(AuditAction.PASSWORD_RESET, user.id, "Password reset by emailed link.",
                      email=user.email)  # fmt: skip
    how = "on the Security page" if has_request_context() else "with the command line"
    return _event(AuditAction.PASSWORD_CHANGED, user.id, f"Password changed {how}.",
                  email=user.email)  # fmt: skip


def _events_for(session: so.Session) -> list[AuditEvent]:
    events: list[AuditEvent] = []

    def add(action: AuditAction, user_id: int | None, description: str) -> None:
        events.append(_event(action, user_id, description))

    for obj in session.new:
        if isinstance(obj, ApiKey):
            add(AuditAction.KEY_ADDED, obj.user_id, f"API key {_key_name(obj)} added.")
        elif isinstance(obj, ApiToken):
            add(AuditAction.TOKEN_CREATED, obj.user_id, f"API token {_token_name(obj)} created.")
        elif isinstance(obj, WebhookEndpoint):
            add(AuditAction.WEBHOOK_ADDED, obj.user_id, f"Webhook to {_host(obj)} added.")
        elif isinstance(obj, Bot) and obj.mode == BotMode.LIVE:
            add(AuditAction.BOT_LIVE, obj.user_id, f"Bot “{obj.name}” created in live mode.")
        elif isinstance(obj, SmsNumber):
            add(AuditAction.PHONE_ADDED, obj.user_id, f"Phone number {_phone(obj)} added.")
        elif isinstance(obj, TelegramChat):
            add(AuditAction.TELEGRAM_LINKED, obj.user_id, "Telegram chat linked.")
    for obj in session.deleted:
        if isinstance(obj, ApiKey):
            add(AuditAction.KEY_REMOVED, obj.user_id, f"API key {_key_name(obj)} deleted.")
        elif isinstance(obj, AuditEvent):
            raise AppendOnlyError("audit events are never deleted one by one")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AppendOnlyError("audit events are never changed")
        if isinstance(obj, User) and _changed(obj, "password_hash"):
            events.append(_password_event(obj))
        elif isinstance(obj, ApiToken):
            change = _changed(obj, "revoked_at")
            if change and change[0] is None and change[1] is not None:
                add(
                    AuditAction.TOKEN_REVOKED, obj.user_id, f"API token {_token_name(obj)} revoked."
                )
        elif isinstance(obj, SmsNumber):
            change = _changed(obj, "phone")
            if change and change[0] != change[1]:
                add(AuditAction.PHONE_ADDED, obj.user_id, f"Phone number {_phone(obj)} added.")
        elif isinstance(obj, WebhookEndpoint):
            change = _changed(obj, "secret_rotated_at")
            if change and change[1] is not None and change[0] != change[1]:
                add(
                    AuditAction.WEBHOOK_SECRET_ROTATED,
                    obj.user_id,
                    f"Webhook secret for {_host(obj)} rotated.",
                )
        elif isinstance(obj, Bot):
            change = _changed(obj, "mode")
            if change and change[1] == BotMode.LIVE:
                add(AuditAction.BOT_LIVE, obj.user_id, f"Bot {_bot_name(obj)} switched to live.")
            # A new token for a bot that had one: the old URL stopped working. (The first
            # token comes with the bot or its strategy and says nothing new.)
            change = _changed(obj, "signal_token_hash")
            if change and change[0] is not None and change[1] is not None:
                add(
                    AuditAction.SIGNAL_URL_ROTATED,
                    obj.user_id,
                    f"Signal URL of bot {_bot_name(obj)} rotated.",
                )
        elif isinstance(obj, BotState):
            change = _changed(obj, "status")
            if not change or change[0] is None or change[0] == change[1]:
                continue
            user_id = obj.bot.user_id if obj.bot is not None else None
            name = _bot_name(obj.bot) if obj.bot is not None else f"#{obj.bot_id}"
            if change[1] == BotStatus.RUNNING:
                add(AuditAction.BOT_STARTED, user_id, f"Bot {name} started.")
            elif change[0] == BotStatus.RUNNING:
                reason = obj.status_reason or ""
                add(AuditAction.BOT_STOPPED, user_id, f"Bot {name} stopped. {reason}".strip())
    return events


def _phone(row: SmsNumber) -> str:
    """Only the last two digits: the log says which number without spelling it out."""
    return f"ending in {row.phone[-2:]}"


def _host(endpoint: WebhookEndpoint) -> str:
    """The host alone: a webhook URL may carry credentials in its user part or its path."""
    return endpoint.url.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]


def _key_name(key: ApiKey) -> str:
    return f"“{key.label}” (****{key.key_last4})"


def _token_name(token: ApiToken) -> str:
    return f"“{token.name}” ({token.prefix}…)"


def _bot_name(bot: Bot) -> str:
    return f"“{bot.name}” (#{bot.id})"


@sa.event.listens_for(so.Session, "before_flush")
def _audit_before_flush(session: so.Session, _context, _instances) -> None:
    if not (session.new or session.dirty or session.deleted):
        return
    with session.no_autoflush:
        events = _events_for(session)
    if events:
        emails = _emails(session, {e.user_id for e in events if e.user_id and not e.email})
        for event in events:
            if event.email is None and event.user_id in emails:
                event.email = emails[event.user_id]
        session.add_all(events)


def _emails(session: so.Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    with session.no_autoflush:
        rows = session.execute(sa.select(User.id, User.email).where(User.id.in_(user_ids)))
    return dict(rows.all())
