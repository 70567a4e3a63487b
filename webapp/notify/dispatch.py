"""From an event to outbox rows: one per channel the user enabled and can be reached on."""

from __future__ import annotations

import logging
from typing import Any

from webapp.i18n.marks import N_
from webapp.models import Notification, NotificationChannel
from webapp.notify import channels, kinds, outbox, preferences
from webapp.notify.kinds import EventType

logger = logging.getLogger(__name__)


def record_event(
    user_id: int, event_type: EventType | str, data: dict[str, Any]
) -> list[Notification]:
    """Add one pending outbox row per channel the user enabled for `event_type`.

    Runs in the caller's session and transaction and does not commit. After the caller
    commits, a delivery job is enqueued on the `notifications` queue; if the caller rolls
    back, the rows and their jobs vanish together.
    """
    event_type = EventType(event_type)
    payload = outbox.normalise_payload(data)
    rows = []
    for channel in preferences.enabled_channels(user_id, event_type):
        reason = channels.unavailable(user_id, channel)
        if reason is not None:
            logger.info(
                "user %s wants %s by %s but cannot get it: %s",
                user_id,
                event_type.value,
                channel.value,
                reason,
            )
            continue
        for destination in channels.get(channel).destinations(user_id, event_type.value):
            rows.append(
                outbox.add_notification(
                    user_id, event_type.value, channel, payload, endpoint_id=destination
                )
            )
    return rows


#: Stored in English like every payload; each channel shows the message in its reader's language.
TEST_DATA = {
    "message": N_(
        "This is a test notification from Tradebots. If you can read it, this channel works."
    ),
    "bot_name": "Example bot",
    "symbol": "BTC/USDT",
    "side": "buy",
    "qty": "0.00100000",
    "price": "50000.00",
    "url": "/notifications/",
}


def create_test(
    user_id: int, channel: NotificationChannel, endpoint_id: int | None = None
) -> list[Notification]:
    """`test` notifications through the normal path (so they prove the whole pipeline): to
    the one webhook endpoint given, else to every destination the channel reaches."""
    targets = (
        [endpoint_id]
        if endpoint_id is not None
        else channels.get(channel).destinations(user_id, None)
    )
    return [
        outbox.add_notification(user_id, kinds.TEST, channel, dict(TEST_DATA), endpoint_id=t)
        for t in targets
    ]
