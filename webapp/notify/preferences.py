"""Which events reach a user on which channel.

Without an explicit choice the defaults apply: the events that mean "a bot stopped or is about
to lose money" go out by email, everything else stays quiet, and webhooks are opt-in.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import NotificationChannel, NotificationPreference
from webapp.models.types import utcnow
from webapp.notify import channels
from webapp.notify.errors import PreferenceRefusedError
from webapp.notify.kinds import EventType

logger = logging.getLogger(__name__)

DEFAULT_EMAIL_EVENTS = frozenset(
    {
        EventType.BOT_ERROR,
        EventType.DAILY_LOSS_LIMIT_REACHED,
        EventType.API_KEY_INVALID,
        EventType.STOP_LOSS_TRIGGERED,
    }
)

Grid = dict[tuple[EventType, NotificationChannel], bool]


#: Without an explicit choice: Telegram tells what email tells, SMS only the stops;
#: webhooks are opt-in.
DEFAULTS: dict[NotificationChannel, frozenset[EventType]] = {
    NotificationChannel.EMAIL: DEFAULT_EMAIL_EVENTS,
    NotificationChannel.TELEGRAM: DEFAULT_EMAIL_EVENTS,
    # An SMS costs the operator money and wakes people: only for a bot or key that stopped.
    NotificationChannel.SMS: frozenset(
        {EventType.BOT_ERROR, EventType.API_KEY_INVALID, EventType.DAILY_LOSS_LIMIT_REACHED}
    ),
}


def default_enabled(event_type: EventType, channel: NotificationChannel) -> bool:
    return event_type in DEFAULTS.get(channel, frozenset())


def grid_for(user_id: int) -> Grid:
    """Every (event type, channel) of the user: explicit choices over the defaults."""
    grid: Grid = {
        (event, channel): default_enabled(event, channel)
        for event in EventType
        for channel in NotificationChannel
    }
    rows = db.session.scalars(
        sa.select(NotificationPreference)
        .where(NotificationPreference.user_id == user_id)
        .execution_options(populate_existing=True)  # set_preference writes around the ORM
    )
    for row in rows:
        try:
            key = (EventType(row.event_type), NotificationChannel(row.channel))
        except ValueError:  # a type that no longer exists
            continue
        grid[key] = row.enabled
    for channel in NotificationChannel:
        chosen = channels.get(channel).chosen_events(user_id)
        if chosen is not None:  # e.g. webhooks: each endpoint keeps its own events
            for event in EventType:
                grid[(event, channel)] = event.value in chosen
    return grid


def enabled_channels(user_id: int, event_type: EventType) -> list[NotificationChannel]:
    grid = grid_for(user_id)
    return [channel for channel in NotificationChannel if grid[(event_type, channel)]]


def set_preference(
    user_id: int, event_type: EventType, channel: NotificationChannel, enabled: bool
) -> None:
    """Record an explicit choice (in the caller's transaction).

    One INSERT ... ON CONFLICT DO UPDATE, so two requests toggling the same switch at once
    (two tabs, a double click) both succeed and the last one wins, where a read-then-insert
    would fail one of them on the unique constraint. A channel with nowhere to keep the
    choice yet (webhooks without an endpoint) raises PreferenceRefusedError and saves nothing.
    """
    reason = channels.cannot_choose(user_id, channel)
    if reason is not None:
        raise PreferenceRefusedError(reason)
    if channels.get(channel).choose(user_id, event_type.value, enabled):
        logger.info(
            "user %s turned %s %s notifications %s",
            user_id,
            event_type.value,
            channel.value,
            "on" if enabled else "off",
        )
        return
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app runs on PostgreSQL or SQLite
        raise RuntimeError(f"no upsert for {dialect}")
    statement = insert(NotificationPreference).values(
        user_id=user_id,
        event_type=event_type.value,
        channel=channel,
        enabled=enabled,
        updated_at=now,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "event_type", "channel"],
            set_={"enabled": enabled, "updated_at": now},
        )
    )
    logger.info(
        "user %s turned %s %s notifications %s",
        user_id,
        event_type.value,
        channel.value,
        "on" if enabled else "off",
    )
