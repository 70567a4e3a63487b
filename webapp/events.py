"""Events the platform tells users about, and the one function that raises them.

Bots, key validation and anything else call `emit` inside their own database transaction;
the notifications outbox turns the event into one row per enabled channel in that same
transaction, so an event is never lost between "it happened" and "we told someone".

The event types themselves live in `webapp.notify.kinds` (re-exported here), which imports
nothing of the notifications package, so there is no import circle.
"""

from __future__ import annotations

import logging
from typing import Any

from webapp.notify.dispatch import record_event
from webapp.notify.kinds import CRITICAL, LABELS, EventType

__all__ = ["CRITICAL", "LABELS", "EventType", "emit"]

logger = logging.getLogger(__name__)


def emit(user_id: int, event_type: EventType | str, data: dict[str, Any]) -> None:
    """Raise an event for a user, inside the caller's transaction (the caller commits).

    `data` must be JSON-serialisable and must never hold a secret. Include what a person
    needs to act: bot id and name, symbol, numbers, and a `url` path back to the page.
    """
    event_type = EventType(event_type)
    logger.info("event %s for user %s", event_type.value, user_id)
    record_event(user_id, event_type, data)
