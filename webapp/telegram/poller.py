"""`flask telegram poll`: long-poll getUpdates and answer each update once.

The offset lives in the database and moves forward in the same transaction as what the update
changed, so a poller restarted at any moment handles no update twice (a reply may at worst be
lost, never an action repeated). A Redis lock keeps one poller active even if two are started:
the second waits, saying so, and takes over when the first stops. With no token set the poller
idles, saying why, and starts as soon as one is.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid

from redis.exceptions import RedisError

from webapp.extensions import db, redis_ext
from webapp.telegram import bot, commands
from webapp.telegram.api import BotApi, TelegramError

logger = logging.getLogger(__name__)

LOCK_KEY = "telegram:poller"
LOCK_TTL = 60
IDLE_SECONDS = 5.0
# Extend the lock only while we still hold it.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Poller:
    def __init__(self, poll_timeout: int, stop: threading.Event | None = None) -> None:
        self.poll_timeout = poll_timeout
        self.stop = stop or threading.Event()
        self.owner = uuid.uuid4().hex
        self.holding = False
        self._said: str | None = None

    def say(self, message: str) -> None:
        """Log a state change once, not on every idle loop."""
        if message != self._said:
            logger.warning(message)
            self._said = message

    def run(self, max_rounds: int | None = None) -> None:
        rounds = 0
        try:
            while not self.stop.is_set() and (max_rounds is None or rounds < max_rounds):
                rounds += 1
                client = bot.api()
                db.session.rollback()
                if client is None:
                    self.say("Telegram poller idle: no bot token (flask telegram set-token TOKEN).")
                    self.stop.wait(IDLE_SECONDS)
                    continue
                if not self._lock():
                    self.say("Telegram poller waiting: another poller is active.")
                    self.stop.wait(IDLE_SECONDS)
                    continue
                self.say("Telegram poller running.")
                if bot.username() is None:
                    self._learn_identity(client)
                self.poll_once(client)
        finally:
            self._unlock()

    def poll_once(self, client: BotApi) -> int:
        """One getUpdates round; returns how many updates were handled."""
        row = bot.row(create=True)
        offset = row.update_offset
        db.session.commit()
        try:
            updates = client.get_updates(offset, self.poll_timeout)
        except TelegramError as exc:
            wait = exc.retry_after or IDLE_SECONDS
            logger.warning("getUpdates failed (%s); trying again in %ss", exc, wait)
            self.stop.wait(wait)
            return 0
        handled = 0
        for update in updates or []:
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                continue
            if update["update_id"] < offset:
                continue  # already handled (the API repeats nothing past the offset anyway)
            if self.holding and not self._lock():
                return handled  # the lock was lost: leave the rest to the poller holding it
            handled += self.handle(client, update)
            offset = update["update_id"] + 1
        return handled

    def handle(self, client: BotApi, update: dict) -> int:
        try:
            answer = commands.handle(update)
        except Exception:
            logger.exception("handling Telegram update %s failed", update.get("update_id"))
            db.session.rollback()
            answer = commands.Answer()
        row = bot.row(create=True)
        row.update_offset = max(row.update_offset, update["update_id"] + 1)
        db.session.commit()  # what the update did and the new offset, together
        for reply in answer.replies:
            extra = {"reply_markup": reply.markup} if reply.markup else {}
            try:
                client.send_message(reply.chat_id, reply.text, **extra)
            except TelegramError as exc:
                logger.warning("could not reply in Telegram: %s", exc)
        if answer.callback_id:
            try:
                client.answer_callback(answer.callback_id, answer.callback_text)
            except TelegramError as exc:
                logger.warning("could not answer a Telegram button: %s", exc)
        return 1

    def _learn_identity(self, client: BotApi) -> None:
        """The bot's username, for the link on the page (TELEGRAM_BOT_TOKEN is not checked
        by set-token, so the poller asks getMe once)."""
        try:
            bot.refresh_identity(client)
            db.session.commit()
        except TelegramError as exc:
            db.session.rollback()
            logger.warning("getMe failed: %s", exc)

    def _lock(self) -> bool:
        try:
            conn = redis_ext.conn
            if self.holding:
                self.holding = bool(conn.eval(_REFRESH, 1, LOCK_KEY, self.owner, LOCK_TTL))
            else:
                self.holding = bool(conn.set(LOCK_KEY, self.owner, nx=True, ex=LOCK_TTL))
        except RedisError as exc:
            self.say(f"Telegram poller waiting: Redis unavailable ({type(exc).__name__}).")
            self.holding = False
        return self.holding

    def _unlock(self) -> None:
        if not self.holding:
            return
        with contextlib.suppress(RedisError):  # else it expires by itself
            redis_ext.conn.eval(_RELEASE, 1, LOCK_KEY, self.owner)
        self.holding = False
