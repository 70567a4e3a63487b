"""The kinds of notification: the platform's events plus a few of our own.

This module is the one place event types live; it imports nothing else of the package, so
`webapp.events`, the outbox, preferences and the channels can all import it without a circle.

`test` is what "send a test" produces; `webhook_disabled` and `channel_disabled` tell a user we
stopped using one of their destinations; `exchange_banned` tells the admins that an exchange
banned the installation's IP. They are always delivered at once, like critical events: they
answer something the user just did or must fix now.
"""

from __future__ import annotations

import enum


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
        return LABELS[self]

    @property
    def critical(self) -> bool:
        """Errors and limit stops are delivered even during quiet hours."""
        return self in CRITICAL


LABELS = {
    EventType.TRADE_EXECUTED: "Trade executed",
    EventType.STOP_LOSS_TRIGGERED: "Stop-loss triggered",
    EventType.TAKE_PROFIT_TRIGGERED: "Take-profit triggered",
    EventType.DAILY_PROFIT_TARGET_REACHED: "Daily profit target reached",
    EventType.DAILY_LOSS_LIMIT_REACHED: "Daily loss limit reached (bot stopped)",
    EventType.BOT_ERROR: "Bot error (bot stopped)",
    EventType.API_KEY_INVALID: "API key rejected by the exchange",
}

CRITICAL = frozenset(
    {EventType.BOT_ERROR, EventType.DAILY_LOSS_LIMIT_REACHED, EventType.API_KEY_INVALID}
)

TEST = "test"
WEBHOOK_DISABLED = "webhook_disabled"
CHANNEL_DISABLED = "channel_disabled"
EXCHANGE_BANNED = "exchange_banned"

SYSTEM_LABELS = {
    TEST: "Test notification",
    WEBHOOK_DISABLED: "Webhook endpoint disabled",
    CHANNEL_DISABLED: "Notification channel turned off",
    EXCHANGE_BANNED: "The exchange banned this installation's IP",
}

#: Kinds that skip quiet hours and never wait behind routine notifications.
URGENT = frozenset({event.value for event in CRITICAL} | set(SYSTEM_LABELS))

ALL_KINDS = tuple(event.value for event in EventType) + tuple(SYSTEM_LABELS)


def label(kind: str) -> str:
    try:
        return LABELS[EventType(kind)]
    except ValueError:
        return SYSTEM_LABELS.get(kind, kind.replace("_", " ").capitalize())


def is_urgent(kind: str) -> bool:
    return kind in URGENT
