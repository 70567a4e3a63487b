"""The outbox: notifications are rows written in the caller's transaction.

`add_notification` adds a pending row and asks for a delivery job once the transaction
commits (see `webapp.notify.jobs`); if the caller rolls back, the row and its job vanish
together. Which rows an event produces is decided in `webapp.notify.dispatch`.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import Notification, NotificationChannel, NotificationStatus
from webapp.models.notification import new_public_id
from webapp.models.types import utcnow
from webapp.notify import settings
from webapp.notify.errors import NotResendableError
from webapp.notify.jobs import enqueue_after_commit

logger = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # keeps every digit; templates format it
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def normalise_payload(data: dict[str, Any]) -> dict[str, Any]:
    """A plain-JSON copy of `data` (Decimals as strings), so a bot's Decimal numbers can never
    make its own transaction fail at flush time."""
    return json.loads(json.dumps(dict(data or {}), default=_jsonable))


def record_system_notice(
    user_id: int, kind: str, data: dict[str, Any], channel: NotificationChannel | None = None
) -> Notification:
    """A notice the user gets whatever their preferences (e.g. "we disabled your webhook"),
    by email unless another channel is given."""
    return add_notification(
        user_id, kind, channel or NotificationChannel.EMAIL, normalise_payload(data)
    )


def add_notification(
    user_id: int,
    kind: str,
    channel: NotificationChannel,
    payload: dict[str, Any],
    now: datetime | None = None,
    endpoint_id: int | None = None,
) -> Notification:
    now = now or utcnow()
    row = Notification(
        endpoint_id=endpoint_id,
        public_id=new_public_id(),
        user_id=user_id,
        event_type=kind,
        channel=channel,
        payload=payload,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    enqueue_after_commit(row.public_id, 0, now)
    return row


#: Public ids are checked before they reach the database: PostgreSQL refuses a string with a
#: NUL byte with an error, which would be a 500.
PUBLIC_ID = re.compile(r"msg_[0-9A-Za-z_-]{1,36}")


def notification_of(user_id: int, public_id: str) -> Notification | None:
    """The user's notification with this public id; None for another user's."""
    if not PUBLIC_ID.fullmatch(public_id):
        return None
    return db.session.scalar(
        sa.select(Notification).where(
            Notification.public_id == public_id, Notification.user_id == user_id
        )
    )


def user_notifications(
    user_id: int,
    *,
    status: NotificationStatus | None = None,
    channel: NotificationChannel | None = None,
    kind: str | None = None,
) -> sa.Select[tuple[Notification]]:
    """The user's notifications, newest first, filtered (the page shows the first ones)."""
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if status is not None:
        query = query.where(Notification.status == status)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    if kind is not None:
        query = query.where(Notification.event_type == kind)
    return query.order_by(Notification.id.desc())


def resend(row: Notification, now: datetime | None = None) -> None:
    """Send a failed notification again from scratch (the caller commits)."""
    if row.status != NotificationStatus.FAILED:
        raise NotResendableError(_("Only a failed notification can be sent again."))
    now = now or utcnow()
    row.status = NotificationStatus.PENDING
    row.attempts = 0
    row.last_error = None
    row.last_status_code = None
    row.locked_until = None
    row.next_attempt_at = now
    row.updated_at = now
    enqueue_after_commit(row.public_id, 0, now)
    logger.info("notification %s queued to be sent again", row.public_id)


def cleanup(now: datetime | None = None) -> dict[str, int]:
    """Delete sent rows older than NOTIFY_KEEP_SENT_DAYS and failed ones older than
    NOTIFY_KEEP_FAILED_DAYS; commits and returns the counts."""
    now = now or utcnow()
    cfg = settings.load()
    sent_cutoff = now - timedelta(days=cfg.keep_sent_days)
    failed_cutoff = now - timedelta(days=cfg.keep_failed_days)
    sent = db.session.execute(
        sa.delete(Notification).where(
            Notification.status == NotificationStatus.SENT,
            sa.func.coalesce(Notification.sent_at, Notification.updated_at) < sent_cutoff,
        )
    ).rowcount
    failed = db.session.execute(
        sa.delete(Notification).where(
            Notification.status == NotificationStatus.FAILED,
            Notification.updated_at < failed_cutoff,
        )
    ).rowcount
    db.session.commit()
    logger.info("notification cleanup removed %d sent and %d failed", sent, failed)
    return {"sent": sent, "failed": failed}
