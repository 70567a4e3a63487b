"""Signals: the bot's secret URL, taking a signal in, and handing it to the bot's cycle.

A signal is refused before it is stored when the token is unknown (404), the body is too
large (413), the bot got more than SIGNALS_PER_MINUTE in the last minute (429) or the body is
not a JSON object with an action the bot's strategy takes (422). The same body again within
SIGNAL_DEDUPE_SECONDS is listed as a duplicate and not acted on. Everything else is stored
as pending and answered 202; the bot's next cycle acts on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app, url_for
from redis.exceptions import RedisError

from webapp import crypto
from webapp.extensions import db, redis_ext
from webapp.models import Bot, BotSignal, BotStatus, SignalAction, SignalStatus
from webapp.models.types import utcnow
from webapp.strategies import UnknownStrategyError, get_strategy

logger = logging.getLogger(__name__)

TOKEN_BYTES = 24  # 32 URL-safe characters, 192 bits
#: Longer than any token we make: such a path is refused without a database query.
MAX_TOKEN_LENGTH = 64
PREFIX = "signals"

# A sliding minute: the times of the signals accepted in the last window, per bot.
_SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2])
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 1000)
return -1
"""


class SignalError(Exception):
    """A signal refused before it was stored; `status` is the HTTP answer, the message its
    reason (sent back to the sender, so it never holds a secret)."""

    status = 422

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class UnknownToken(SignalError):
    status = 404


class BodyTooLarge(SignalError):
    status = 413


class TooManySignals(SignalError):
    status = 429


class BadSignal(SignalError):
    status = 422


@dataclass(frozen=True)
class Receipt:
    """What the sender is told: the stored signal and whether the bot will act on it."""

    signal: BotSignal
    duplicate_of: int | None = None

    def answer(self) -> dict[str, object]:
        body: dict[str, object] = {
            "id": self.signal.id,
            "action": self.signal.action.value,
            "status": self.signal.status.value,
        }
        if self.signal.outcome:
            body["outcome"] = self.signal.outcome
        if self.duplicate_of is not None:
            body["duplicate_of"] = self.duplicate_of
        return body


# -- the secret URL ------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def takes_signals(bot: Bot) -> bool:
    return bool(actions_of(bot.strategy))


def actions_of(strategy: str) -> tuple[str, ...]:
    try:
        return get_strategy(strategy).signal_actions
    except UnknownStrategyError:
        return ()


def rotate_token(bot: Bot) -> str:
    """A new secret for the bot's signal URL; the old URL stops working at once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    bot.signal_token_hash = token_hash(token)
    bot.signal_token_encrypted = crypto.encrypt(token)
    logger.info("bot %s: signal URL rotated", bot.id)
    return token


def reencrypt_all() -> int:
    """Re-encrypt every bot's signal token with the newest ENCRYPTION_KEY (for key rotation),
    so owners still see their URLs once the old key is gone; returns how many. The caller
    commits. The URLs themselves do not change: they are looked up by hash."""
    count = 0
    for bot in db.session.scalars(sa.select(Bot).where(Bot.signal_token_encrypted.is_not(None))):
        try:
            bot.signal_token_encrypted = crypto.rotate(bot.signal_token_encrypted)
        except crypto.DecryptionError:
            raise crypto.DecryptionError(
                f"The signal URL of bot {bot.id} cannot be decrypted with any ENCRYPTION_KEY; "
                "nothing was re-encrypted. Put back the key that encrypted it (after the new "
                "one) and run the rotation again."
            ) from None
        count += 1
    return count


def ensure_token(bot: Bot) -> None:
    """Give a bot whose strategy takes signals its URL (once; rotating makes a new one)."""
    if bot.signal_token_hash is None and takes_signals(bot):
        rotate_token(bot)


def signal_token(bot: Bot) -> str | None:
    """The bot's token for its owner's page, or None (no URL yet, or the key changed)."""
    if not bot.signal_token_encrypted:
        return None
    try:
        return crypto.decrypt(bot.signal_token_encrypted)
    except crypto.CryptoError:
        logger.warning("bot %s: its signal token cannot be decrypted", bot.id)
        return None


def signal_url(bot: Bot) -> str | None:
    """The bot's secret URL as its owner copies it (None for a bot that takes no signals,
    or has no token the current key can read)."""
    token = signal_token(bot) if takes_signals(bot) else None
    return url_for("signals.receive", token=token, _external=True) if token else None


def bot_for_token(token: str) -> Bot | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(sa.select(Bot).where(Bot.signal_token_hash == token_hash(token)))


# -- taking a signal in --------------------------------------------------------------------


def parse(data: bytes, actions: tuple[str, ...]) -> tuple[SignalAction, str]:
    """The action of a body and the body as text; raises BadSignal with the reason."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSignal("The body is not UTF-8 text.") from None
    if not text.strip():
        raise BadSignal('The body is empty; send JSON such as {"action": "buy"}.')
    try:
        # Numbers are never used, only kept in the text: parsed so none can fail the body
        # (a 5,000-digit integer is past int()'s limit, 1e999 past a float).
        payload = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    except (ValueError, RecursionError):
        raise BadSignal('The body is not valid JSON; send e.g. {"action": "buy"}.') from None
    if not isinstance(payload, dict):
        raise BadSignal('The body must be a JSON object such as {"action": "buy"}.')
    raw = payload.get("action")
    if raw is None:
        raise BadSignal('The body has no "action"; send e.g. {"action": "buy"}.')
    action = raw.strip().lower() if isinstance(raw, str) else None
    if action not in actions:
        allowed = ", ".join(f'"{name}"' for name in actions)
        raise BadSignal(f'"action" must be one of {allowed} for this bot.')
    return SignalAction(action), text


def _count(bot_id: int) -> None:
    """Raises TooManySignals past SIGNALS_PER_MINUTE in a sliding minute. If Redis cannot
    count, the signal goes through (and a warning is logged), as the API's limit does."""
    cfg = current_app.config
    limit = int(cfg["SIGNALS_PER_MINUTE"])
    now = int(time.time() * 1000)
    window = 60_000
    try:
        oldest = redis_ext.conn.eval(
            _SLIDING_WINDOW, 1, f"{PREFIX}:rl:{bot_id}", now, window, limit,
            f"{now}:{secrets.token_hex(4)}",
        )  # fmt: skip
    except (RedisError, OSError) as exc:
        logger.warning("signal rate limit not counted, Redis: %s", type(exc).__name__)
        return
    if int(oldest) >= 0:
        wait = max(1, math.ceil((int(oldest) + window - now) / 1000))
        raise TooManySignals(
            f"This bot takes at most {limit} signals a minute; try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


def _first_of(bot_id: int, data: bytes) -> int | None:
    """The id of the same body's signal within SIGNAL_DEDUPE_SECONDS, else None (and this
    body is the first); 0 when that signal is still being stored."""
    seconds = int(current_app.config["SIGNAL_DEDUPE_SECONDS"])
    key = _dup_key(bot_id, data)
    try:
        if redis_ext.conn.set(key, "0", nx=True, px=seconds * 1000):
            return None
        return int(redis_ext.conn.get(key) or 0)
    except (RedisError, OSError) as exc:
        logger.warning("signal duplicates not checked, Redis: %s", type(exc).__name__)
        return None


def _dup_key(bot_id: int, data: bytes) -> str:
    return f"{PREFIX}:dup:{bot_id}:{hashlib.sha256(data).hexdigest()}"


def _remember(bot_id: int, data: bytes, signal_id: int) -> None:
    with contextlib.suppress(RedisError, OSError):
        redis_ext.conn.set(_dup_key(bot_id, data), str(signal_id), xx=True, keepttl=True)


def _forget(bot_id: int, data: bytes) -> None:
    with contextlib.suppress(RedisError, OSError):
        redis_ext.conn.delete(_dup_key(bot_id, data))


def receive(token: str, data: bytes, remote_addr: str | None = None) -> Receipt:
    """Check a signal and store it (committed); raises a SignalError for the sender."""
    bot = bot_for_token(token)
    if bot is None:
        raise UnknownToken("No bot has this signal URL (it may have been rotated).")
    if len(data) > int(current_app.config["SIGNAL_MAX_BYTES"]):
        raise BodyTooLarge(too_large_message())
    _count(bot.id)
    actions = actions_of(bot.strategy)
    if not actions:
        raise BadSignal("This bot's strategy does not act on signals.")
    action, text = parse(data, actions)
    now = utcnow()
    signal = BotSignal(
        bot_id=bot.id, action=action, body=text, received_at=now, remote_addr=remote_addr
    )
    first = _first_of(bot.id, data)
    if first is not None:
        seconds = int(current_app.config["SIGNAL_DEDUPE_SECONDS"])
        signal.status = SignalStatus.IGNORED
        signal.outcome = f"The same body arrived less than {seconds} s ago; acted on once."
        signal.handled_at = now
    elif bot.state.status != BotStatus.RUNNING:
        signal.status = SignalStatus.IGNORED
        signal.outcome = "The bot was not running."
        signal.handled_at = now
    try:
        db.session.add(signal)
        db.session.flush()
        prune(bot.id, int(current_app.config["SIGNALS_KEEP"]))
        db.session.commit()
    except Exception:
        db.session.rollback()
        if first is None:
            _forget(bot.id, data)  # the sender's retry is not a duplicate of nothing
        raise
    if first is None:
        _remember(bot.id, data, signal.id)
    logger.info("bot %s: signal %s %s (%s)", bot.id, signal.id, action.value, signal.status.value)
    return Receipt(signal, duplicate_of=first or None)


def too_large_message() -> str:
    limit = int(current_app.config["SIGNAL_MAX_BYTES"])
    return (
        f"The body is larger than {limit // 1024} KB."
        if limit >= 1024
        else (f"The body is larger than {limit} bytes.")
    )


def prune(bot_id: int, keep: int) -> None:
    cutoff = db.session.scalar(
        sa.select(BotSignal.id)
        .where(BotSignal.bot_id == bot_id)
        .order_by(BotSignal.id.desc())
        .offset(keep)
        .limit(1)
    )
    if cutoff is not None:
        db.session.execute(
            sa.delete(BotSignal).where(BotSignal.bot_id == bot_id, BotSignal.id <= cutoff)
        )


# -- the cycle's side ----------------------------------------------------------------------


def take_pending(bot: Bot, started_at: datetime | None, now: datetime) -> BotSignal | None:
    """The newest pending signal the cycle acts on. Older pending ones are settled as
    superseded, and those that arrived before the bot's last start as stale (a signal sent
    to a stopped bot is not acted on when it starts a day later). Not committed: the cycle
    commits them with what it does."""
    waiting = list(
        db.session.scalars(
            sa.select(BotSignal)
            .where(BotSignal.bot_id == bot.id, BotSignal.status == SignalStatus.PENDING)
            .order_by(BotSignal.id.desc())
        )
    )
    current: BotSignal | None = None
    for signal in waiting:
        if started_at is not None and signal.received_at < started_at:
            settle(signal, SignalStatus.IGNORED, "It arrived before the bot was started.", now)
        elif current is None:
            current = signal
        else:
            settle(signal, SignalStatus.IGNORED, f"A newer signal (#{current.id}) came first.", now)
    return current


def settle(signal: BotSignal, status: SignalStatus, outcome: str, now: datetime) -> None:
    signal.status = status
    signal.outcome = outcome[:500]
    signal.handled_at = now


def recent(bot: Bot, limit: int = 20) -> list[BotSignal]:
    return list(
        db.session.scalars(
            sa.select(BotSignal)
            .where(BotSignal.bot_id == bot.id)
            .order_by(BotSignal.id.desc())
            .limit(limit)
        )
    )
