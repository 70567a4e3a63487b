"""SMS: one short text per event to the user's verified number, through the SMS provider.

Every message fits one segment — 160 GSM-7 characters, or 70 when it needs UCS-2 — shortened
at a word. A per-user daily cap (NOTIFY_SMS_PER_DAY) protects the operator's bill: what is over
it is not sent ("rate limited"). Twilio's 429 and 5xx retry with backoff; errors 21211
(invalid number) and 21610 (the recipient replied STOP) turn SMS off for the user, who is told
by email.

Texts are in the recipient's language, written for one GSM-7 segment by `webapp.notify.gsm7`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from redis.exceptions import RedisError

from webapp.i18n.engine_text import engine_text
from webapp.i18n.marks import N_
from webapp.i18n.timezones import as_recipient
from webapp.models import Notification, NotificationChannel, SmsNumber, User
from webapp.notify import kinds, outbox, phones, render, sms_providers
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
from webapp.notify.gsm7 import one_segment

logger = logging.getLogger(__name__)

NO_NUMBER = N_("Add and verify a phone number first.")

# KEYS: the user's counter for the day; ARGV: cap, ttl. 1 when counted, 0 when full.
_COUNT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


def sms_text(kind: str, data: dict) -> str:
    facts = (
        [engine_text(data["message"])]
        if kind == kinds.TEST and data.get("message")
        else render.short_facts(data)
    )
    return one_segment("Tradebots: " + "; ".join([render.headline(kind, data), *facts]))


@dataclass
class Target:
    phone: str
    cap: int
    provider: sms_providers.ConsoleProvider | sms_providers.TwilioProvider


class SmsChannel(Channel):
    kind = NotificationChannel.SMS

    def unavailable(self, user_id: int) -> str | None:
        return None if phones.usable_number(user_id) else NO_NUMBER

    def prepare(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        numbers = by_user(SmsNumber, SmsNumber.user_id, {lane.user_id for lane in lanes})
        users = by_user(User, User.id, set(numbers))
        cap = int(current_app.config.get("NOTIFY_SMS_PER_DAY", 10))
        try:
            provider = sms_providers.provider()
        except sms_providers.ProviderNotConfigured as exc:
            for lane in lanes:
                lane.fail_all(AttemptResult(False, str(exc), permanent=True))
            return
        for lane in lanes:
            number = numbers.get(lane.user_id)
            if number is None or not number.usable:
                lane.fail_all(AttemptResult(False, NO_NUMBER, permanent=True))
                continue
            lane.target = Target(number.phone, cap, provider)
            zone = lane.quiet.timezone if lane.quiet else None
            for row in lane.rows:
                notification = notifications[row.id]
                try:
                    with as_recipient(users[lane.user_id], zone):
                        row.message = sms_text(
                            notification.event_type, dict(notification.payload or {})
                        )
                except Exception as exc:
                    logger.exception("preparing notification %s failed", row.public_id)
                    row.failure = internal_error(exc)

    def send(self, row: Row, lane: Lane, ctx: SendContext) -> AttemptResult:
        target: Target = lane.target
        if not _count(ctx, row.user_id, target.cap):
            return AttemptResult(
                False, f"Over the daily SMS limit of {target.cap}: not sent.", capped=True
            )
        result = target.provider.send(target.phone, row.message)
        if result.ok:
            return AttemptResult(True, status_code=result.status)
        if result.code in sms_providers.TURN_OFF:
            reason = sms_providers.TURN_OFF[result.code]
            return AttemptResult(False, result.error, result.status, disable=reason)
        if result.retryable:
            return AttemptResult(False, result.error, result.status, retry_after=result.retry_after)
        return AttemptResult(False, result.error, result.status, permanent=True)

    def record(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        for lane in lanes:
            reason = next(
                (
                    r.attempt.disable
                    for r in lane.results
                    if r.status == Status.FAILED and r.attempt and r.attempt.disable
                ),
                None,
            )
            if reason and phones.turn_off(lane.user_id, lane.target.phone, reason, now):
                outbox.record_system_notice(
                    lane.user_id,
                    kinds.CHANNEL_DISABLED,
                    {
                        "channel": "SMS",
                        "reason": f"We turned SMS off for {lane.target.phone}: {reason}.",
                        "why": reason,
                        "phone": lane.target.phone,
                        "url": "/notifications/",
                    },
                )


def _count(ctx: SendContext, user_id: int, cap: int) -> bool:
    """Count one SMS of the user's UTC day if under the cap (Redis, shared by all workers)."""
    day = ctx.clock().astimezone(UTC).strftime("%Y%m%d")
    try:
        return bool(ctx.redis.eval(_COUNT, 1, f"notify:sms:{user_id}:{day}", cap, 2 * 86400))
    except RedisError as exc:
        logger.warning("SMS cap unavailable (%s); sending", type(exc).__name__)
        return True
