"""Events the platform tells users about, and the one function that raises them.

Bots, key validation and anything else call `emit` inside their own database transaction;
the notifications outbox turns the event into one row per enabled channel in that same
transaction, so an event is never lost between "it happened" and "we told someone".
"""

from __future__ import annotations

import enum
import logging
from typing import Any

logger = logging.getLogger(__name__)


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


def emit(user_id: int, event_type: EventType | str, data: dict[str, Any]) -> None:
    """Raise an event for a user, inside the caller's transaction (the caller commits).

    `data` must be JSON-serialisable and must never hold a secret. Include what a person
    needs to act: bot id and name, symbol, numbers, and a `url` path back to the page.
    """
    event_type = EventType(event_type)
    logger.info("event %s for user %s", event_type.value, user_id)
    from webapp.notify.outbox import record_event

    record_event(user_id, event_type, data)
