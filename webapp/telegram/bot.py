"""The installation's one bot: its token (environment or database, encrypted) and identity.

`flask telegram set-token` checks a token with `getMe` before saving it, so a typo never
replaces a working bot. TELEGRAM_BOT_TOKEN in the environment wins over the stored token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

from webapp import crypto
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import TelegramBot
from webapp.models.types import utcnow
from webapp.telegram.api import BotApi, TelegramError
from webapp.telegram.errors import NotConfigured, TokenRefused

logger = logging.getLogger(__name__)

ROW_ID = 1


@dataclass(frozen=True)
class BotInfo:
    username: str | None
    masked_token: str
    source: str  # "environment" or "database"


def row(create: bool = False) -> TelegramBot | None:
    bot = db.session.get(TelegramBot, ROW_ID)
    if bot is None and create:
        bot = TelegramBot(id=ROW_ID, update_offset=0, updated_at=utcnow())
        db.session.add(bot)
    return bot


def mask(token: str) -> str:
    """`123456:••••wxyz`: the bot's id and the last four characters, never the rest."""
    bot_id, _, secret = token.partition(":")
    return f"{bot_id[:12]}:••••{secret[-4:]}" if secret else "••••"


def _token() -> tuple[str, str] | None:
    env = current_app.config.get("TELEGRAM_BOT_TOKEN")
    if env:
        return env.strip(), "environment"
    bot = row()
    if bot is None or not bot.token_encrypted:
        return None
    try:
        return crypto.decrypt(bot.token_encrypted), "database"
    except crypto.CryptoError:
        logger.error("the stored Telegram token cannot be decrypted (ENCRYPTION_KEY changed)")
        return None


def client_for(token: str) -> BotApi:
    cfg = current_app.config
    return BotApi(cfg["TELEGRAM_API_BASE"], token, float(cfg.get("TELEGRAM_TIMEOUT") or 10))


def api() -> BotApi | None:
    """A client for the configured bot, or None while no token is set."""
    found = _token()
    return client_for(found[0]) if found else None


def require_api() -> BotApi:
    client = api()
    if client is None:
        raise NotConfigured("No Telegram bot is set up (flask telegram set-token TOKEN).")
    return client


def info() -> BotInfo | None:
    found = _token()
    if found is None:
        return None
    bot = row()
    return BotInfo(bot.username if bot else None, mask(found[0]), found[1])


def username() -> str | None:
    bot = row()
    return bot.username if bot is not None and _token() is not None else None


def set_token(token: str) -> dict:
    """Check `token` with getMe and store it encrypted (the caller commits); returns getMe's
    answer. Raises TokenRefused, and saves nothing, when the Bot API refuses it."""
    token = token.strip()
    if not token or any(ch.isspace() for ch in token) or ":" not in token:
        raise TokenRefused(
            _("That is not a bot token: it looks like 123456789:AA... (from @BotFather).")
        )
    try:
        me = client_for(token).get_me()
    except TelegramError as exc:
        status = exc.status or _("no answer")
        answer = f"{status} {exc.description}".strip()
        raise TokenRefused(_("Telegram refused the token: %(answer)s", answer=answer)) from None
    if not isinstance(me, dict) or not me.get("is_bot"):
        raise TokenRefused(_("Telegram did not confirm that token as a bot."))
    bot = row(create=True)
    previous = bot.bot_user_id
    bot.token_encrypted = crypto.encrypt(token)
    bot.bot_user_id = int(me.get("id") or 0) or None
    bot.username = str(me.get("username") or "")[:64] or None
    if previous != bot.bot_user_id:
        bot.update_offset = 0  # another bot: its updates are numbered afresh
    bot.updated_at = utcnow()
    logger.info("Telegram bot token set for @%s", bot.username)
    return me


def refresh_identity(client: BotApi) -> None:
    """Remember the username getMe reports (for the environment's token, which is not saved)."""
    me = client.get_me()
    bot = row(create=True)
    bot.bot_user_id = int(me.get("id") or 0) or None
    bot.username = str(me.get("username") or "")[:64] or None
    bot.updated_at = utcnow()


def reencrypt() -> int:
    """Re-encrypt the stored token with the newest ENCRYPTION_KEY (for key rotation)."""
    bot = row()
    if bot is None or not bot.token_encrypted:
        return 0
    bot.token_encrypted = crypto.rotate(bot.token_encrypted)
    return 1
