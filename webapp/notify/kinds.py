"""The kinds of notification: the platform's events plus a few of our own.

This module is the one place event types live; it imports nothing else of the package, so
`webapp.events`, the outbox, preferences and the channels can all import it without a circle.
Labels are read in the reader's language (a page's, or a notification's recipient's); the JSON
API reads them in English.

`test` is what "send a test" produces; `webhook_disabled` and `channel_disabled` tell a user we
stopped using one of their destinations; `exchange_banned` tells the admins that an exchange
banned the installation's IP. They are always delivered at once, like critical events: they
answer something the user just did or must fix now.
"""

from __future__ import annotations

import enum

from webapp.i18n.current import lazy_gettext as _l


class EventType(enum.StrEnum):
    TRADE_EXECUTED = "trade_executed"
    STOP_LOSS_TRIGGERED = "stop_loss_triggered"
    TAKE_PROFIT_TRIGGERED = "take_profit_triggered"
    DAILY_PROFIT_TARGET_REACHED = "daily_profit_target_reached"
    DAILY_LOSS_LIMIT_REACHED = "daily_loss_limit_reached"
    BOT_ERROR = "bot_error"
    API_KEY_INVALID = "api_key_invalid"

    @property
    def label(self) -> str:
        return str(LABELS[self])

    @property
    def critical(self) -> bool:
        """Errors and limit stops are delivered even during quiet hours."""
        return self in CRITICAL


LABELS = {
    EventType.TRADE_EXECUTED: _l("Trade executed"),
    EventType.STOP_LOSS_TRIGGERED: _l("Stop-loss triggered"),
    EventType.TAKE_PROFIT_TRIGGERED: _l("Take-profit triggered"),
    EventType.DAILY_PROFIT_TARGET_REACHED: _l("Daily profit target reached"),
    EventType.DAILY_LOSS_LIMIT_REACHED: _l("Daily loss limit reached (bot stopped)"),
    EventType.BOT_ERROR: _l("Bot error (bot stopped)"),
    EventType.API_KEY_INVALID: _l("API key rejected by the exchange"),
}

CRITICAL = frozenset(
    {EventType.BOT_ERROR, EventType.DAILY_LOSS_LIMIT_REACHED, EventType.API_KEY_INVALID}
)

TEST = "test"
WEBHOOK_DISABLED = "webhook_disabled"
CHANNEL_DISABLED = "channel_disabled"
EXCHANGE_BANNED = "exchange_banned"

SYSTEM_LABELS = {
    TEST: _l("Test notification"),
    WEBHOOK_DISABLED: _l("Webhook endpoint disabled"),
    CHANNEL_DISABLED: _l("Notification channel turned off"),
    EXCHANGE_BANNED: _l("The exchange banned this installation's IP"),
}

#: Kinds that skip quiet hours and never wait behind routine notifications.
URGENT = frozenset({event.value for event in CRITICAL} | set(SYSTEM_LABELS))

ALL_KINDS = tuple(event.value for event in EventType) + tuple(SYSTEM_LABELS)


def label(kind: str) -> str:
    """The kind's name in the current language (a kind this version does not know, say from
    a newer release's rows, reads as its own words)."""
    try:
        return str(LABELS[EventType(kind)])
    except ValueError:
        known = SYSTEM_LABELS.get(kind)
        return str(known) if known is not None else kind.replace("_", " ").capitalize()


def is_urgent(kind: str) -> bool:
    return kind in URGENT
