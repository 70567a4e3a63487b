"""The channels, one module each, behind the interface of `webapp.notify.channels.base`.

Adding a channel is a module with a `Channel` subclass, its entry here, its value in
`NotificationChannel`, its settings form and, if it stores a destination, a migration.
"""

from __future__ import annotations

from webapp.models import NotificationChannel
from webapp.notify.channels.base import Channel
from webapp.notify.channels.email import EmailChannel
from webapp.notify.channels.sms import SmsChannel
from webapp.notify.channels.telegram import TelegramChannel
from webapp.notify.channels.webhook import WebhookChannel

REGISTRY: dict[NotificationChannel, Channel] = {
    channel.kind: channel
    for channel in (EmailChannel(), WebhookChannel(), TelegramChannel(), SmsChannel())
}


def get(kind: NotificationChannel | str) -> Channel:
    return REGISTRY[NotificationChannel(kind)]


def cannot_choose(user_id: int, kind: NotificationChannel | str) -> str | None:
    """Why the preference matrix cannot record a choice on this channel yet (None when it can)."""
    return get(kind).cannot_choose(user_id)


def unavailable(user_id: int, kind: NotificationChannel | str) -> str | None:
    """Why the user cannot get notifications on this channel now (None when they can)."""
    return get(kind).unavailable(user_id)
