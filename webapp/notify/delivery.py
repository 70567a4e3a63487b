"""Deliver outbox rows in batches: claim, respect order, quiet hours and limits, send, record.

Every step is safe to repeat (see `webapp.notify.claims` for how rows are claimed and kept in
order). A batch sends each lane's rows one after another and different lanes at once on a
small thread pool; what a row becomes on the wire is its channel's business
(`webapp.notify.channels`), and what its answer means comes back as an `AttemptResult`, so
retries with backoff, limits, quiet hours and statuses work the same for every channel. When
a lane stops (retry, limit, quiet hours) the rest of it waits for the same time.

Threads only do network work (SMTP, HTTPS, Bot API, the Redis rate limiter); the database is
used from the calling thread alone. Results are written as lanes finish, many rows per
transaction, so one slow receiver delays only its own lane.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from redis import Redis

from webapp import metrics
from webapp.extensions import db, redis_ext
from webapp.models import Notification, NotificationStatus, QuietHours
from webapp.models.types import utcnow
from webapp.notify import channels, claims, jobs, limits, settings
from webapp.notify.channels.base import (
    AttemptResult,
    Lane,
    Outcome,
    Result,
    SendContext,
    Status,
    by_user,
    internal_error,
)
from webapp.notify.claims import CLAIM_SECONDS
from webapp.notify.settings import NotifySettings
from webapp.notify.webhook_client import shared_pools

__all__ = ["CLAIM_SECONDS", "AttemptResult", "Outcome", "Status", "deliver", "run_batch"]

logger = logging.getLogger(__name__)

#: No new send starts later than this after the claim, so every result is recorded while the
#: claim still holds (a lane's remaining rows are handed back instead).
SEND_WINDOW = CLAIM_SECONDS / 2
#: Results that arrive within this long of each other are written in one transaction.
RECORD_EVERY = 0.05
MAX_ERROR_CHARS = 500


@dataclass
class _Batch:
    app: Flask
    cfg: NotifySettings
    redis: Redis
    now: datetime
    fixed_now: datetime | None
    send_until: float
    ctx: SendContext
    stop: threading.Event = field(default_factory=threading.Event)

    def clock(self) -> datetime:
        return self.fixed_now or utcnow()


# --- Public entry points --------------------------------------------------------------------


def deliver(public_id: str, *, now: datetime | None = None) -> Outcome:
    """Try to deliver the one notification `public_id` now (the CLI's "send a test", tests).

    `now` is for tests (a fixed clock). When the row is finished, the next row of its lane
    gets a job.
    """
    outcomes = run_batch(now=now, only=public_id)
    for outcome in outcomes:
        if outcome.public_id == public_id:
            if outcome.status in {Status.SENT, Status.FAILED, Status.RATE_LIMITED}:
                claims.kick_next(public_id, now or utcnow())
            return outcome
    return claims.why_not_claimed(public_id, now or utcnow())


def deliver_due(
    *,
    first: str | None = None,
    now: datetime | None = None,
    budget: float = 10.0,
    rounds: int = 1000,
) -> list[Outcome]:
    """Deliver batches of due rows until none is left (what a worker's job does).

    `first` is the row the job was queued for: it may be taken slightly before it is due.
    After `budget` seconds (or `rounds` batches) with work left, a follow-up job is queued
    instead, so one job never holds a worker for long.
    """
    outcomes: list[Outcome] = []
    ends = time.monotonic() + budget
    for _ in range(rounds):
        batch = run_batch(now=now, first=first)
        if not batch:
            return outcomes
        outcomes.extend(batch)
        if time.monotonic() >= ends:
            break
    jobs.schedule_follow_up()
    return outcomes


def run_batch(
    *, now: datetime | None = None, first: str | None = None, only: str | None = None
) -> list[Outcome]:
    """Claim one batch of due rows, send it and record the results; [] if nothing was due."""
    cfg = settings.load()
    fixed_now = now
    now = now or utcnow()
    claimed = claims.claim_batch(now, cfg, first=first, only=only)
    if not claimed:
        return []
    lanes = claims.lanes_of(claimed)
    outcomes = claims.hold_back_overtaking(lanes)
    lanes = [lane for lane in lanes if lane.rows]
    if not lanes:
        return outcomes
    _prepare(lanes, now)
    app = current_app._get_current_object()
    clock = (lambda: fixed_now) if fixed_now else utcnow
    batch = _Batch(
        app=app,
        cfg=cfg,
        redis=redis_ext.conn,
        now=now,
        fixed_now=fixed_now,
        send_until=time.monotonic() + SEND_WINDOW,
        ctx=SendContext(app, cfg, redis_ext.conn, shared_pools(cfg.send_threads), clock),
    )
    pool = _executor(cfg.send_threads)
    futures: dict[Future, Lane] = {pool.submit(_run_lane, lane, batch): lane for lane in lanes}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            if pending:  # let results that are about to arrive share the transaction
                more, pending = wait(pending, timeout=RECORD_EVERY)
                done |= more
            finished = [futures[f] for f in sorted(done, key=_order(futures))]
            outcomes.extend(_record(finished, batch))
    finally:
        # A job timeout lands here: unrecorded rows keep their claim until it expires and
        # the sweeper hands them out again.
        batch.stop.set()
    return outcomes


def _order(futures: dict[Future, Lane]):
    return lambda future: futures[future].rows[0].id


# --- Preparing (database reads, templates, secrets) -----------------------------------------


def _prepare(lanes: list[Lane], now: datetime) -> None:
    """Everything a lane needs to send without touching the database."""
    rows = claims.load(row.id for lane in lanes for row in lane.rows)
    routine_users = {lane.user_id for lane in lanes if not lane.urgent}
    quiet = by_user(QuietHours, QuietHours.user_id, routine_users)
    for lane in lanes:
        lane.quiet = limits.QuietPeriod.of(quiet.get(lane.user_id)) if not lane.urgent else None
    for kind, group in _by_channel(lanes).items():
        try:
            channels.get(kind).prepare(group, rows, now)
        except Exception as exc:  # a bug in one channel fails its rows, not the batch
            logger.exception("preparing %s notifications failed", kind)
            for lane in group:
                lane.fail_all(internal_error(exc))
    db.session.commit()  # end the read transaction before the network work


def _by_channel(lanes: list[Lane]) -> dict:
    groups: dict = {}
    for lane in lanes:
        groups.setdefault(lane.channel, []).append(lane)
    return groups


# --- Sending (in the thread pool) -----------------------------------------------------------

_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    """This process's sending threads (a forked child starts its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="notify-send"))
        return _pool[1]


def _run_lane(lane: Lane, batch: _Batch) -> None:
    """Send the lane's rows in order; stop at the first one that has to wait."""
    try:
        _send_lane(lane, batch)
    except Exception:  # never lose the lane's results to a bug
        logger.exception("sending a lane of user %s crashed", lane.user_id)
    done = len(lane.results)
    for row in lane.rows[done:]:
        lane.results.append(Result(row, Status.RELEASED))


def _send_lane(lane: Lane, batch: _Batch) -> None:
    cfg = batch.cfg
    channel = channels.get(lane.channel)
    for index, row in enumerate(lane.rows):
        if batch.stop.is_set() or time.monotonic() > batch.send_until:
            return  # the rest is released
        if not lane.urgent:
            until = limits.quiet_until(lane.quiet, batch.now)
            if lane.hold_until is not None and lane.hold_until > batch.now:
                until = max(until or lane.hold_until, lane.hold_until)
            if until is not None:
                lane.results.append(Result(row, Status.HELD, next_at=until))
                _wait_rest(lane, index, until)
                return
        if row.failure is not None:
            result = row.failure
        else:
            window = limits.acquire(batch.redis, row.user_id, batch.now, cfg)
            if window is not None:
                attempt = AttemptResult(False, f"{window.name} limit reached")
                lane.results.append(Result(row, Status.DEFERRED, attempt, next_at=window.ends_at))
                _wait_rest(lane, index, window.ends_at)
                return
            try:
                result = channel.send(row, lane, batch.ctx)
            except Exception as exc:
                logger.exception("delivering notification %s crashed", row.public_id)
                result = internal_error(exc)
        at = batch.clock()
        if result.wait is not None:  # not attempted: the lane waits, the attempt is given back
            next_at = at + timedelta(seconds=result.wait)
            lane.results.append(Result(row, Status.DEFERRED, result, next_at=next_at))
            _wait_rest(lane, index, next_at)
            return
        if result.ok:
            lane.results.append(Result(row, Status.SENT, result, at=at))
            channel.after_attempt(lane, row, result, True, batch.ctx)
            continue
        if result.capped:
            lane.results.append(Result(row, Status.RATE_LIMITED, result, at=at))
            continue
        if not result.final and row.attempts < cfg.max_attempts:
            delay = cfg.retry_delay(row.attempts)
            if result.retry_after is not None:
                delay = max(delay, min(result.retry_after, cfg.retry_after_max))
            next_at = at + timedelta(seconds=delay)
            lane.results.append(Result(row, Status.RETRY, result, next_at=next_at, at=at))
            channel.after_attempt(lane, row, result, False, batch.ctx)
            _wait_rest(lane, index, next_at)
            return
        lane.results.append(Result(row, Status.FAILED, result, at=at))
        stop = channel.after_attempt(lane, row, result, True, batch.ctx)
        if (result.disable and row.failure is None) or stop:
            return  # the destination is turned off when this is recorded; the rest fails then


def _wait_rest(lane: Lane, index: int, until: datetime) -> None:
    for row in lane.rows[index + 1 :]:
        lane.results.append(Result(row, Status.WAITING, next_at=until))


# --- Recording ------------------------------------------------------------------------------


def _record(lanes: list[Lane], batch: _Batch) -> list[Outcome]:
    """Write the finished lanes' results in one transaction."""
    now = batch.clock()
    rows = claims.load(result.row.id for lane in lanes for result in lane.results)
    outcomes = []
    for lane in lanes:
        for result in lane.results:
            outcomes.append(_apply(rows[result.row.id], result, now))
        until = lane.stopped_until
        if until is not None:
            _postpone_rest_of_lane(lane, until)
        else:
            early = [row.due for row in lane.rows if row.due is not None and row.due > batch.now]
            if early:
                _free_rest_of_lane(lane, max(early), now)
    attempts = [(rows[r.row.id].channel, r.status) for lane in lanes for r in lane.results]
    for kind, group in _by_channel(lanes).items():
        channels.get(kind).record(group, rows, now)
    db.session.commit()
    metrics.count_deliveries(attempts)
    for outcome in outcomes:
        _log(outcome)
    return outcomes


def _apply(row: Notification, result: Result, now: datetime) -> Outcome:
    row.locked_until = None
    attempt = result.attempt
    status = result.status
    if status in {Status.HELD, Status.DEFERRED, Status.WAITING, Status.RELEASED}:
        row.attempts -= 1  # the claim counted an attempt that was not made
        if result.next_at is not None:
            current = row.next_attempt_at
            row.next_attempt_at = (
                result.next_at if current is None else max(current, result.next_at)
            )
            row.updated_at = now
        if status != Status.WAITING:  # a waiting row is woken by the row it waits for
            jobs.enqueue_after_commit(row.public_id, row.attempts, row.next_attempt_at)
        detail = {
            Status.HELD: "quiet hours",
            Status.DEFERRED: attempt.error if attempt else None,
            Status.WAITING: "an older notification goes first",
            Status.RELEASED: None,
        }[status]
        return Outcome(status, row.public_id, detail, row.next_attempt_at)

    assert attempt is not None
    now = result.at or now
    row.updated_at = now
    row.last_status_code = attempt.status_code
    if status == Status.SENT:
        row.status = NotificationStatus.SENT
        row.sent_at = now
        row.next_attempt_at = None
        row.last_error = None
        return Outcome(status, row.public_id)

    error = (attempt.error or "unknown error")[:MAX_ERROR_CHARS]
    row.last_error = error
    if status == Status.RETRY:
        row.next_attempt_at = result.next_at
        jobs.enqueue_after_commit(row.public_id, row.attempts, row.next_attempt_at)
        return Outcome(status, row.public_id, error, row.next_attempt_at)
    row.status = (
        NotificationStatus.RATE_LIMITED
        if status == Status.RATE_LIMITED
        else NotificationStatus.FAILED
    )
    row.next_attempt_at = None
    return Outcome(status, row.public_id, error)


def _postpone_rest_of_lane(lane: Lane, until: datetime) -> None:
    """Rows of a stopped lane that were not in the batch wait for the same time (so the page
    says when, and the sweeper does not wake them early)."""
    db.session.execute(
        sa.update(Notification)
        .where(
            claims.in_lane(lane.user_id, lane.channel, lane.urgent, lane.destination),
            Notification.status == NotificationStatus.PENDING,
            Notification.id > lane.rows[-1].id,
            sa.or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at < until),
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )


def _free_rest_of_lane(lane: Lane, waited_until: datetime, now: datetime) -> None:
    """The lane's rows were taken before they were due (a job may run a little early), so the
    rows that waited behind them until that time are free now: due at once, not a moment later
    when no job would come for them."""
    db.session.execute(
        sa.update(Notification)
        .where(
            claims.in_lane(lane.user_id, lane.channel, lane.urgent, lane.destination),
            Notification.status == NotificationStatus.PENDING,
            Notification.id > lane.rows[-1].id,
            Notification.next_attempt_at > now,
            Notification.next_attempt_at <= waited_until,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


def _log(outcome: Outcome) -> None:
    if outcome.status == Status.SENT:
        logger.info("notification %s sent", outcome.public_id)
    elif outcome.status in {Status.FAILED, Status.RATE_LIMITED}:
        logger.warning("notification %s %s: %s", outcome.public_id, outcome.status, outcome.detail)
    elif outcome.status in {Status.RETRY, Status.DEFERRED, Status.HELD}:
        logger.info(
            "notification %s: %s (%s) until %s",
            outcome.public_id,
            outcome.status.value,
            outcome.detail,
            outcome.next_at,
        )
