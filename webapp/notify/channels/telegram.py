"""Telegram: a short HTML message from the installation's bot to the user's linked chat.

Every value is escaped (`parse_mode=HTML`); a message longer than Telegram's 4,096 characters
is shortened at a word, never refused. Answers: 429 waits `retry_after` and retries; 403 (the
user blocked the bot) or 400 "chat not found" unlinks the chat and tells the user by email.
Sends stay under Telegram's limits across all workers — TELEGRAM_MAX_PER_SECOND per bot
(30 by default) and one message a second per chat — counted in Redis.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError

from webapp.i18n.current import gettext as _
from webapp.i18n.engine_text import engine_text
from webapp.i18n.marks import N_
from webapp.i18n.timezones import as_recipient
from webapp.models import Notification, NotificationChannel, TelegramChat, User
from webapp.notify import kinds, outbox, render, settings
from webapp.notify.channels.base import (
    AttemptResult,
    Channel,
    Lane,
    Row,
    SendContext,
    Status,
    by_user,
    internal_error,
)
from webapp.telegram import bot, linking
from webapp.telegram.api import BotApi, TelegramError

logger = logging.getLogger(__name__)

#: Why a chat was unlinked (stored in English; the notice about it reads in its reader's language).
BLOCKED = N_("the bot was blocked in Telegram")
CHAT_UNKNOWN = N_("Telegram no longer knows the chat")

MAX_CHARS = 4096
NOT_SET_UP = N_("Telegram is not set up on this installation.")
NOT_LINKED = N_("Connect Telegram first (Connect Telegram on the notifications page).")
#: A send waits in its thread at most this long for the bot's rate to have room; a chat that
#: had a message less than CHAT_INTERVAL ago gives its lane back to the queue instead (a thread
#: sleeping for one chat would hold up every other chat).
MAX_BOT_WAIT = 2.0
CHAT_SLEEP_MAX = 0.25
#: Seconds between two messages to one chat: Telegram's one a second, with a margin. Counted
#: from the previous message's answer (when it has surely arrived), not from its start, so a
#: slow first request can never bring two arrivals closer than a second.
CHAT_INTERVAL = 1.05

# KEYS: the bot's counters (by second), the chat's last send; ARGV: bot limit, chat interval
# in microseconds. Redis's own clock, so every worker on every machine counts the same time.
# Returns 0 when counted, else the microseconds to wait.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local interval = tonumber(ARGV[2])
if now - last < interval then return interval - (now - last) end
local key = KEYS[1] .. ':' .. t[1]
local sent = tonumber(redis.call('GET', key) or '0')
if sent >= tonumber(ARGV[1]) then return 1000000 - tonumber(t[2]) end
redis.call('INCR', key); redis.call('EXPIRE', key, 5)
redis.call('SET', KEYS[2], now, 'EX', 5)
return 0
"""

# KEYS: the chat's last send. The moment the answer came, on Redis's clock.
_ANSWERED = """
local t = redis.call('TIME')
redis.call('SET', KEYS[1], tonumber(t[1]) * 1000000 + tonumber(t[2]), 'EX', 5)
"""


@dataclass
class Target:
    api: BotApi
    chat_id: int
    per_second: int


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word to at most `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def message_text(kind: str, data: dict, base_url: str) -> str:
    """The HTML message in the current language: a bold headline, the few facts that matter,
    a link to the page."""
    headline = f"<b>{html.escape(render.headline(kind, data))}</b>"
    if kind == kinds.TEST and data.get("message"):
        facts = [engine_text(str(data["message"]))]
    else:
        facts = render.short_facts(data)
    if data.get("symbol") and kind != "trade_executed":
        facts.insert(0, render.fact(_("Symbol"), data["symbol"]))
    link = html.escape(render.link_for(data, base_url), quote=True)
    footer = f'<a href="{link}">{html.escape(_("Open in Tradebots"))}</a>'
    body = "\n".join(facts)
    room = MAX_CHARS - len(headline) - len(footer) - 4
    escaped = html.escape(body, quote=False)
    while len(escaped) > room:  # escaping lengthens the text: shorten the plain text until it fits
        body = shorten(body, min(len(body) - 1, len(body) * room // len(escaped)))
        escaped = html.escape(body, quote=False)
    if len(headline) + len(footer) + 4 > MAX_CHARS:  # an absurdly long bot name
        headline = f"<b>{html.escape(shorten(render.headline(kind, data), 1000))}</b>"
    return "\n".join(part for part in (headline, escaped, footer) if part)


def classify(exc: TelegramError) -> AttemptResult:
    """What a failed sendMessage means for the row and the chat."""
    if exc.status == 429:
        return AttemptResult(
            False, "Telegram asked us to slow down", 429, retry_after=exc.retry_after or 1
        )
    if exc.chat_gone:
        reason = BLOCKED if exc.status == 403 else CHAT_UNKNOWN
        return AttemptResult(
            False, f"Telegram: {reason}; the chat was unlinked.", exc.status, disable=reason
        )
    if exc.status is not None and 400 <= exc.status < 500:
        return AttemptResult(
            False, f"Telegram refused the message: {exc.description}", exc.status, permanent=True
        )
    return AttemptResult(False, f"Telegram could not be reached: {exc}", exc.status)


class TelegramChannel(Channel):
    kind = NotificationChannel.TELEGRAM
    lane_depth = 2  # a chat takes one message a second: more rows would only wait

    def unavailable(self, user_id: int) -> str | None:
        if bot.api() is None:
            return NOT_SET_UP
        if linking.chat_of(user_id) is None:
            return NOT_LINKED
        return None

    def prepare(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        client = bot.api()
        if client is None:
            for lane in lanes:
                lane.fail_all(AttemptResult(False, NOT_SET_UP, permanent=True))
            return
        cfg = settings.load()
        per_second = int(current_app.config.get("TELEGRAM_MAX_PER_SECOND") or 30)
        chats = by_user(TelegramChat, TelegramChat.user_id, {lane.user_id for lane in lanes})
        users = by_user(User, User.id, set(chats))
        for lane in lanes:
            chat = chats.get(lane.user_id)
            if chat is None:
                lane.fail_all(AttemptResult(False, NOT_LINKED, permanent=True))
                continue
            lane.target = Target(client, chat.chat_id, per_second)
            if chat.muted_until is not None and chat.muted_until > now and not lane.urgent:
                lane.hold_until = chat.muted_until
            zone = lane.quiet.timezone if lane.quiet else None
            for row in lane.rows:
                notification = notifications[row.id]
                try:
                    with as_recipient(users[lane.user_id], zone):
                        row.message = message_text(
                            notification.event_type, dict(notification.payload or {}), cfg.base_url
                        )
                except Exception as exc:
                    logger.exception("preparing notification %s failed", row.public_id)
                    row.failure = internal_error(exc)

    def send(self, row: Row, lane: Lane, ctx: SendContext) -> AttemptResult:
        target: Target = lane.target
        wait = _take_slot(ctx, target)
        if wait is not None:
            return AttemptResult(False, "Telegram's rate limit is full", wait=wait)
        try:
            target.api.send_message(target.chat_id, row.message)
        except TelegramError as exc:
            return classify(exc)
        finally:
            _answered(ctx, target)
        return AttemptResult(True, status_code=200)

    def record(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        for lane in lanes:
            gone = next(
                (
                    r.attempt.disable
                    for r in lane.results
                    if r.status == Status.FAILED and r.attempt and r.attempt.disable
                ),
                None,
            )
            if gone and linking.unlink(lane.user_id, lane.target.chat_id):
                outbox.record_system_notice(
                    lane.user_id,
                    kinds.CHANNEL_DISABLED,
                    {
                        "channel": "Telegram",
                        "reason": f"We unlinked your Telegram chat: {gone}.",
                        "why": gone,
                        "url": "/notifications/",
                    },
                )


def _chat_key(target: Target) -> str:
    return f"telegram:rate:chat:{target.chat_id}"


def _answered(ctx: SendContext, target: Target) -> None:
    try:
        ctx.redis.eval(_ANSWERED, 1, _chat_key(target))
    except RedisError as exc:
        logger.warning("Telegram rate limiter unavailable (%s)", type(exc).__name__)


def _take_slot(ctx: SendContext, target: Target) -> float | None:
    """Count this send for the bot and the chat; None when counted, else seconds to wait."""
    deadline = time.monotonic() + MAX_BOT_WAIT
    keys = ("telegram:rate:bot", _chat_key(target))
    interval = int(CHAT_INTERVAL * 1_000_000)
    while True:
        try:
            wait = int(ctx.redis.eval(_TAKE_SLOT, 2, *keys, target.per_second, interval)) / 1e6
        except RedisError as exc:
            logger.warning("Telegram rate limiter unavailable (%s); sending", type(exc).__name__)
            return None
        if wait <= 0:
            return None
        if wait > CHAT_SLEEP_MAX or time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait)
