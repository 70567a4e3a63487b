"""The kinds of notification: the platform's events plus two of our own.

`test` is what "send a test" produces; `webhook_disabled` tells a user we stopped calling their
endpoint. Both are always delivered at once, like critical events: they answer something the
user just did or must fix now.
"""

from __future__ import annotations

from webapp.events import CRITICAL, LABELS, EventType

TEST = "test"
WEBHOOK_DISABLED = "webhook_disabled"

SYSTEM_LABELS = {
    TEST: "Test notification",
    WEBHOOK_DISABLED: "Webhook endpoint disabled",
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
