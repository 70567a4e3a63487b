"""Jobs that wake delivery workers: enqueued after commit, scheduled for later, swept.

A delivery job delivers every due row, not just its own (see `webapp.notify.delivery`), so
rows committed while a few jobs already wait in the queue need none of their own: at most
`NOTIFY_WAKE_SLOTS` jobs wait at a time (a slot is a short-lived Redis key that the job frees
when it starts, before it looks for rows, so a row committed after that gets a new job). This
keeps RQ's own cost per job off the per-notification path.

Job ids are derived from the row's public id and due time, so enqueueing the same delivery
twice (hook and sweeper, or two sweepers) creates one job, and delivery itself claims the row
before sending. If Redis is down when a transaction commits the rows simply wait: the sweeper,
run every 30 s by the scheduler, enqueues every due row that has no job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy import orm as so

from webapp.extensions import db, redis_ext
from webapp.models import Notification, NotificationStatus
from webapp.models.notification import new_public_id
from webapp.models.types import utcnow
from webapp.notify import settings

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


# --- Sweeper -------------------------------------------------------------------------------


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
