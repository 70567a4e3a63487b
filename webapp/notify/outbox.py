"""The outbox: notifications are rows written in the caller's transaction.

`record_event` adds one row per enabled channel and asks for a delivery job once the
transaction commits (a SQLAlchemy `after_commit` hook). If Redis is down at that moment the
rows simply wait: the sweeper, run every 30 s by the scheduler, enqueues every due row that
has no job, so nothing is lost and nothing blocks the caller.

A delivery job delivers every due row, not just its own (see `webapp.notify.delivery`), so
rows committed while a few jobs already wait in the queue need none of their own: at most
`NOTIFY_WAKE_SLOTS` jobs wait at a time (a slot is a short-lived Redis key that the job frees
when it starts, before it looks for rows, so a row committed after that gets a new job). This
keeps RQ's own cost per job off the per-notification path.

Job ids are derived from the row's public id and due time, so enqueueing the same delivery
twice (hook and sweeper, or two sweepers) creates one job, and delivery itself claims the row
before sending.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy import orm as so

from webapp.events import EventType
from webapp.extensions import db, redis_ext
from webapp.models import Notification, NotificationChannel, NotificationStatus
from webapp.models.notification import new_public_id
from webapp.models.types import utcnow
from webapp.notify import kinds, preferences, settings
from webapp.notify.errors import NotResendableError

logger = logging.getLogger(__name__)

QUEUE = "notifications"
DELIVER_JOB = "workers.notifications.deliver"
JOB_TIMEOUT = 120
#: A due time this close to now is enqueued at once rather than through rq-scheduler.
IMMEDIATE_WINDOW = timedelta(seconds=1)
_ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
#: Delivery jobs that may wait in the queue at once (see the module docstring); a slot left
#: behind by a lost job frees itself after WAKE_SLOT_TTL seconds.
WAKE_SLOTS = 4
WAKE_SLOT_TTL = 60
_WAKE_KEY = "notify:wake:{}"
# KEYS: the slots; ARGV: how many are wanted, ttl. Returns the indexes of the slots taken.
_TAKE_SLOTS = """
local taken = {}
for i = 1, #KEYS do
  if #taken >= tonumber(ARGV[1]) then break end
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', tonumber(ARGV[2])) then
    taken[#taken + 1] = i - 1
  end
end
return taken
"""
_PENDING_KEY = "notify.after_commit"
_HOOKED_KEY = "notify.hooked"


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


def record_event(
    user_id: int, event_type: EventType | str, data: dict[str, Any]
) -> list[Notification]:
    """Add one pending outbox row per channel the user enabled for `event_type`.

    Runs in the caller's session and transaction and does not commit. After the caller
    commits, a delivery job per row is enqueued on the `notifications` queue; if the caller
    rolls back, the rows and their jobs vanish together.
    """
    event_type = EventType(event_type)
    payload = normalise_payload(data)
    rows = []
    for channel in preferences.enabled_channels(user_id, event_type):
        if channel == NotificationChannel.WEBHOOK:
            from webapp.notify.endpoints import endpoint_for

            endpoint = endpoint_for(user_id)
            if endpoint is None or not endpoint.enabled:
                logger.info(
                    "user %s wants %s webhooks but has no enabled endpoint",
                    user_id,
                    event_type.value,
                )
                continue
        rows.append(add_notification(user_id, event_type.value, channel, payload))
    return rows


def record_system_email(user_id: int, kind: str, data: dict[str, Any]) -> Notification:
    """An email the user gets whatever their preferences (e.g. "we disabled your webhook")."""
    return add_notification(user_id, kind, NotificationChannel.EMAIL, normalise_payload(data))


def add_notification(
    user_id: int,
    kind: str,
    channel: NotificationChannel,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> Notification:
    now = now or utcnow()
    row = Notification(
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


def create_test(user_id: int, channel: NotificationChannel) -> Notification:
    """A `test` notification through the normal path (so it proves the whole pipeline)."""
    data = {
        "message": "This is a test notification from Tradebots. If you can read it, this "
        "channel works.",
        "bot_name": "Example bot",
        "symbol": "BTC/USDT",
        "side": "buy",
        "qty": "0.00100000",
        "price": "50000.00",
        "url": "/notifications/",
    }
    return add_notification(user_id, kinds.TEST, channel, data)


def resend(row: Notification, now: datetime | None = None) -> None:
    """Send a failed notification again from scratch (the caller commits)."""
    if row.status != NotificationStatus.FAILED:
        raise NotResendableError("Only a failed notification can be sent again.")
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


# --- Jobs after commit ---------------------------------------------------------------------


@dataclass(frozen=True)
class Wakeup:
    """A delivery job to enqueue: for row `public_id`, after `attempts` attempts, at `due`."""

    public_id: str
    attempts: int
    due: datetime | None

    @property
    def job_id(self) -> str:
        """The same for the same row, attempt and due time (so enqueueing twice is one job),
        different for each retry or postponement (so a running job never shares its id with
        the job it schedules)."""
        stamp = int(self.due.timestamp()) if self.due else 0
        return f"notify-{self.public_id}-{self.attempts}-{stamp}"


def enqueue_after_commit(public_id: str, attempts: int, due: datetime | None) -> None:
    """Enqueue a delivery job once the current transaction commits (never before: a worker
    must find the row)."""
    session = db.session()
    session.info.setdefault(_PENDING_KEY, []).append(Wakeup(public_id, attempts, due))
    if not session.info.get(_HOOKED_KEY):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_soft_rollback)
        session.info[_HOOKED_KEY] = True


def _after_commit(session: so.Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        schedule(pending)


def _after_soft_rollback(session: so.Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def schedule(items: Iterable[Wakeup], *, now_only: bool = False, sweeping: bool = False) -> int:
    """Wake workers for these rows: due now through the queue, later through rq-scheduler
    (`now_only` puts everything on the queue at once). A job for a row due now is enqueued
    only while a wake slot is free (a waiting job will deliver the row anyway); the sweeper
    (`sweeping`) skips the slots but still enqueues no more than WAKE_SLOTS jobs. Returns how
    many rows were handed to Redis; never raises for a Redis outage."""
    now = utcnow()
    due_now: dict[str, str] = {}  # job id -> public id
    soon: dict[str, str] = {}  # due within IMMEDIATE_WINDOW: a job now (it may claim early)
    later: list[Wakeup] = []
    for item in items:
        if now_only or item.due is None or item.due <= now:
            due_now[item.job_id] = item.public_id
        elif item.due <= now + IMMEDIATE_WINDOW:
            soon[item.job_id] = item.public_id
        else:
            later.append(item)
    count = 0
    try:
        conn = redis_ext.conn
        jobs: list[tuple[str, str, int | None]] = [(jid, pid, None) for jid, pid in soon.items()]
        if due_now:
            if sweeping:
                slots: list[int | None] = [None] * min(len(due_now), _wake_slots())
            else:
                keys = [_WAKE_KEY.format(n) for n in range(_wake_slots())]
                slots = list(conn.eval(_TAKE_SLOTS, len(keys), *keys, len(due_now), WAKE_SLOT_TTL))
            jobs += [
                (jid, pid, slot) for (jid, pid), slot in zip(due_now.items(), slots, strict=False)
            ]
        if jobs:
            queue = redis_ext.queue(QUEUE)
            queue.enqueue_many(
                [
                    queue.prepare_data(
                        DELIVER_JOB,
                        args=(public_id,),
                        kwargs={"wake": slot} if slot is not None else None,
                        job_id=jid,
                        timeout=JOB_TIMEOUT,
                        result_ttl=3600,
                        failure_ttl=7 * 86400,
                        description=f"deliver notification {public_id}",
                    )
                    for jid, public_id, slot in jobs
                ]
            )
        count += len(due_now) + len(soon)
        if later:
            from webapp.scheduling import get_scheduler

            scheduler = get_scheduler(conn)
            for item in later:
                scheduler.enqueue_at(
                    item.due.astimezone(UTC).replace(tzinfo=None),
                    DELIVER_JOB,
                    item.public_id,
                    job_id=item.job_id,
                    queue_name=QUEUE,
                    timeout=JOB_TIMEOUT,
                    job_result_ttl=3600,
                    job_description=f"deliver notification {item.public_id}",
                )
                count += 1
    except (RedisError, OSError) as exc:
        # The rows are safe in the database; the sweeper enqueues them once Redis is back.
        logger.warning(
            "could not enqueue %d notification job(s) (%s); the sweeper will retry",
            len(due_now) + len(soon) + len(later),
            type(exc).__name__,
        )
        return count
    return count


def _wake_slots() -> int:
    return settings.load().wake_slots


def free_wake_slot(slot: int) -> None:
    """Called by a job as it starts: rows committed from now on need a new job."""
    try:
        redis_ext.conn.delete(_WAKE_KEY.format(int(slot)))
    except (RedisError, OSError) as exc:  # the slot frees itself after WAKE_SLOT_TTL
        logger.warning("could not free a wake slot (%s)", type(exc).__name__)


def schedule_follow_up() -> None:
    """Queue a delivery job for whatever is due (a job that ran out of time hands over)."""
    try:
        redis_ext.queue(QUEUE).enqueue(
            DELIVER_JOB,
            job_id=f"notify-more-{new_public_id().removeprefix('msg_')}",
            job_timeout=JOB_TIMEOUT,
            result_ttl=600,
            description="deliver due notifications",
        )
    except (RedisError, OSError) as exc:
        logger.warning("could not queue a follow-up delivery job (%s)", type(exc).__name__)


# --- Sweeper and cleanup -------------------------------------------------------------------


def due_rows(now: datetime, limit: int | None = None) -> sa.Select:
    stmt = (
        sa.select(Notification.public_id, Notification.attempts, Notification.next_attempt_at)
        .where(
            Notification.status == NotificationStatus.PENDING,
            sa.or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            sa.or_(Notification.locked_until.is_(None), Notification.locked_until < now),
        )
        .order_by(Notification.id)
    )
    return stmt.limit(limit) if limit else stmt


def sweep(now: datetime | None = None, limit: int = 1000) -> int:
    """Wake workers for every due pending row that has no live job of its own; returns how
    many such rows there were (a few jobs deliver them all).

    Picks up rows whose job was never enqueued (Redis was down), was lost (Redis restarted
    without persistence), or whose worker died holding the claim.
    """
    now = now or utcnow()
    rows = [Wakeup(*row) for row in db.session.execute(due_rows(now, limit)).all()]
    db.session.rollback()
    if not rows:
        return 0
    ids = [row.job_id for row in rows]
    try:
        jobs = Job.fetch_many(ids, connection=redis_ext.conn)
        statuses = [_status(job) for job in jobs]
    except (RedisError, OSError) as exc:
        logger.warning("sweeper cannot reach Redis (%s)", type(exc).__name__)
        return 0
    missing = [row for row, status in zip(rows, statuses, strict=True) if status not in _ACTIVE]
    enqueued = schedule(missing, now_only=True, sweeping=True)
    if enqueued:
        logger.info("sweeper enqueued %d due notification(s)", enqueued)
    return enqueued


def _status(job: Job | None) -> JobStatus | None:
    if job is None:
        return None
    try:
        return job.get_status(refresh=False)
    except (NoSuchJobError, ValueError):
        return None


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
