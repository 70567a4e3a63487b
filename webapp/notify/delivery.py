"""Deliver outbox rows in batches: claim, respect order, quiet hours and limits, send, record.

Every step is safe to repeat. A row is sent only by the worker whose claim took it — one
`UPDATE ... WHERE status='pending' AND due AND unlocked` for the whole batch — and a sent row
is never claimed again, so a job that runs twice (enqueued by both the commit hook and the
sweeper) sends once. The claim also counts the attempt, so a worker dying mid-send has used
it; rows the batch then does not try (quiet hours, a rate limit, an older row first) get it
back.

Order: rows of one user and channel go out in the order they were created, in two lanes —
urgent (critical events, tests) and routine — so an alarm never waits behind a trade report
held by quiet hours or a rate limit. A batch takes a lane only from its oldest pending row on
and only a few rows of it, sends each lane's rows one after another and different lanes at
once on a small thread pool, over kept-alive connections (`webhook_client.ConnectionPools`).
When a lane stops (retry, limit, quiet hours) the rest of it waits for the same time.

Threads only do network work (SMTP, HTTPS, the Redis rate limiter); the database is used from
the calling thread alone. Results are written as lanes finish, many rows per transaction, so
one slow receiver delays only its own lane.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from flask_mail import Message
from redis import Redis
from sqlalchemy import orm as so

from webapp import crypto
from webapp.extensions import db, mail, redis_ext
from webapp.models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    QuietHours,
    User,
    WebhookEndpoint,
)
from webapp.models.types import utcnow
from webapp.notify import channels, endpoints, kinds, limits, netguard, outbox, settings, signing
from webapp.notify.settings import NotifySettings
from webapp.notify.webhook_client import ConnectionPools, shared_pools
from webapp.notify.webhook_client import deliver as post_webhook

logger = logging.getLogger(__name__)

#: How long a claim lasts: longer than a batch can take (see SEND_WINDOW).
CLAIM_SECONDS = 120
#: No new send starts later than this after the claim, so every result is recorded while the
#: claim still holds (a lane's remaining rows are handed back instead).
SEND_WINDOW = CLAIM_SECONDS / 2
#: The job for a row may run a little before the row is due (clocks of different machines).
EARLY_TOLERANCE = timedelta(seconds=1)
#: Results that arrive within this long of each other are written in one transaction.
RECORD_EVERY = 0.05
#: A lane's rows in one batch at most (they are sent one after another).
LANE_DEPTH = 8
MAX_ERROR_CHARS = 500


class Status(enum.StrEnum):
    """What a delivery did with one row."""

    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"  # will try again at `next_at`
    DEFERRED = "deferred"  # a rate limit is full until `next_at`
    HELD = "held"  # quiet hours until `next_at`
    WAITING = "waiting"  # an older row of its lane goes first
    RELEASED = "released"  # handed back untried (the batch ran out of time or must stop)
    SKIPPED = "skipped"  # nothing to do: already sent, not due, or claimed by another worker


@dataclass(frozen=True)
class Outcome:
    status: Status
    public_id: str
    detail: str | None = None
    next_at: datetime | None = None


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    error: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    permanent: bool = False  # retrying cannot help (e.g. a forbidden URL)
    gone: bool = False  # the receiver answered 410


# --- Plain data handed to the sending threads -----------------------------------------------


@dataclass
class _Endpoint:
    url: str
    secrets: list[str]
    failures: int  # consecutive failures so far (this batch adds its own)


@dataclass
class _Row:
    id: int
    public_id: str
    user_id: int
    channel: NotificationChannel
    urgent: bool
    attempts: int  # including the attempt the claim counted
    due: datetime | None = None  # when it was due (a job may take its row a little early)
    message: Message | None = None
    body: bytes | None = None
    failure: AttemptResult | None = None  # known before sending: no endpoint, broken row
    blame_endpoint: bool = True  # whether a failure counts towards disabling the endpoint


@dataclass
class _Result:
    row: _Row
    status: Status
    attempt: AttemptResult | None = None
    next_at: datetime | None = None
    at: datetime | None = None


@dataclass
class _Lane:
    user_id: int
    channel: NotificationChannel
    urgent: bool
    rows: list[_Row]
    quiet: limits.QuietPeriod | None = None
    endpoint: _Endpoint | None = None
    results: list[_Result] = field(default_factory=list)

    @property
    def stopped_until(self) -> datetime | None:
        """The time the rest of the lane must wait for, if the batch stopped it."""
        last = self.results[-1] if self.results else None
        if last is not None and last.status in {
            Status.RETRY,
            Status.DEFERRED,
            Status.HELD,
            Status.WAITING,
        }:
            return last.next_at
        return None


@dataclass
class _Batch:
    app: Flask
    cfg: NotifySettings
    redis: Redis
    pools: ConnectionPools
    now: datetime
    fixed_now: datetime | None
    send_until: float
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
            if outcome.status in {Status.SENT, Status.FAILED}:
                _kick_next(public_id, now or utcnow())
            return outcome
    return _why_not_claimed(public_id, now or utcnow())


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
    outbox.schedule_follow_up()
    return outcomes


def run_batch(
    *, now: datetime | None = None, first: str | None = None, only: str | None = None
) -> list[Outcome]:
    """Claim one batch of due rows, send it and record the results; [] if nothing was due."""
    cfg = settings.load()
    fixed_now = now
    now = now or utcnow()
    claimed = _claim_batch(now, cfg, first=first, only=only)
    if not claimed:
        return []
    lanes = _lanes(claimed)
    outcomes = _hold_back_overtaking(lanes)
    lanes = [lane for lane in lanes if lane.rows]
    if not lanes:
        return outcomes
    _prepare(lanes, now, cfg)
    batch = _Batch(
        app=current_app._get_current_object(),
        cfg=cfg,
        redis=redis_ext.conn,
        pools=shared_pools(cfg.send_threads),
        now=now,
        fixed_now=fixed_now,
        send_until=time.monotonic() + SEND_WINDOW,
    )
    pool = _executor(cfg.send_threads)
    futures: dict[Future, _Lane] = {pool.submit(_run_lane, lane, batch): lane for lane in lanes}
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


def _order(futures: dict[Future, _Lane]):
    return lambda future: futures[future].rows[0].id


# --- Claiming -------------------------------------------------------------------------------


def _lane_of(table) -> sa.ColumnElement[bool]:
    return table.event_type.in_(list(kinds.URGENT))


def _lane_filter(urgent: bool) -> sa.ColumnElement[bool]:
    urgent_kinds = list(kinds.URGENT)
    if urgent:
        return Notification.event_type.in_(urgent_kinds)
    return Notification.event_type.not_in(urgent_kinds)


def _claimable(table, now: datetime, first: str | None) -> sa.ColumnElement[bool]:
    due = sa.or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now)
    if first is not None:
        due = sa.or_(
            due,
            sa.and_(table.public_id == first, table.next_attempt_at <= now + EARLY_TOLERANCE),
        )
    return sa.and_(
        table.status == NotificationStatus.PENDING,
        due,
        sa.or_(table.locked_until.is_(None), table.locked_until < now),
    )


def _claim_batch(
    now: datetime, cfg: NotifySettings, *, first: str | None = None, only: str | None = None
) -> list[_Row]:
    """Claim up to `cfg.batch_size` due rows: the oldest rows of up to `batch_size / 2` lanes,
    LANE_DEPTH rows of a lane at most, so a second worker finds lanes of its own.

    A lane is taken only from its oldest pending row on and only while its rows are due and
    free. The UPDATE re-checks every row, so of two workers racing for a row one gets it
    (and `_hold_back_overtaking` sorts out a lane split between them).
    """
    for _ in range(3):  # a worker that lost the race for the rows it chose chooses again
        if only is not None:
            chosen = list(
                db.session.scalars(
                    sa.select(Notification.id).where(
                        Notification.public_id == only, _claimable(Notification, now, only)
                    )
                )
            )
        else:
            chosen = _choose(now, first, cfg.batch_size)
        if not chosen:
            db.session.rollback()
            return []
        claimed = db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(chosen), _claimable(Notification, now, only or first))
            .values(
                locked_until=now + timedelta(seconds=CLAIM_SECONDS),
                attempts=Notification.attempts + 1,
            )
            .returning(
                Notification.id,
                Notification.public_id,
                Notification.user_id,
                Notification.channel,
                Notification.event_type,
                Notification.attempts,
                Notification.next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        if claimed or only is not None:
            break
    return [_Row(i, p, u, c, kinds.is_urgent(k), a, d) for i, p, u, c, k, a, d in sorted(claimed)]


def _choose(now: datetime, first: str | None, limit: int) -> list[int]:
    """Ids to claim: lane heads first (oldest first), then their followers, round-robin."""
    n = Notification
    # The oldest due and free row of each lane is its head unless an older row is pending
    # (claimed elsewhere or waiting): then the whole lane waits.
    due = (
        sa.select(n.id, n.user_id, n.channel, _lane_of(n).label("lane"))
        .where(_claimable(n, now, first))
        .subquery()
    )
    firsts = (
        sa.select(due.c.user_id, due.c.channel, due.c.lane, sa.func.min(due.c.id).label("head"))
        .group_by(due.c.user_id, due.c.channel, due.c.lane)
        .subquery()
    )
    older = so.aliased(Notification)
    blocked = (
        sa.select(older.id)
        .where(
            older.user_id == firsts.c.user_id,
            older.channel == firsts.c.channel,
            older.status == NotificationStatus.PENDING,
            older.id < firsts.c.head,
            _lane_of(older) == firsts.c.lane,
        )
        .exists()
    )
    heads = db.session.execute(
        sa.select(firsts.c.head, firsts.c.user_id, firsts.c.channel, firsts.c.lane)
        .where(~blocked)
        .order_by(firsts.c.head)
        .limit(max(1, limit // 2))
    ).all()
    if not heads:
        return []
    lanes: dict[tuple, list[int]] = {
        (user_id, channel, bool(urgent)): [] for _head, user_id, channel, urgent in heads
    }
    if LANE_DEPTH > 1 and limit > len(heads):
        # Each lane's next rows, in order, as long as they are due and free.
        ranked = (
            sa.select(
                n.id,
                n.public_id,
                n.user_id,
                n.channel,
                n.event_type,
                n.next_attempt_at,
                n.locked_until,
                sa.func.row_number()
                .over(partition_by=(n.user_id, n.channel, _lane_of(n)), order_by=n.id)
                .label("rank"),
            )
            .where(
                n.status == NotificationStatus.PENDING,
                n.user_id.in_({key[0] for key in lanes}),
                n.id >= heads[0][0],
            )
            .subquery()
        )
        rows = db.session.execute(
            sa.select(ranked).where(ranked.c.rank <= LANE_DEPTH).order_by(ranked.c.id)
        ).all()
        stopped: set[tuple] = set()
        due_by, early_by = now, now + EARLY_TOLERANCE
        for row_id, public_id, user_id, channel, kind, due, locked, _rank in rows:
            key = (user_id, channel, kinds.is_urgent(kind))
            if key not in lanes or key in stopped:
                continue
            free = locked is None or locked < now
            on_time = due is None or due <= (early_by if public_id == first else due_by)
            if free and on_time:
                lanes[key].append(row_id)
            else:
                stopped.add(key)
    else:
        for head, user_id, channel, urgent in heads:
            lanes[(user_id, channel, bool(urgent))].append(head)
    chosen: list[int] = []
    for depth in range(LANE_DEPTH):  # round-robin, so every lane gets its head first
        for ids in lanes.values():
            if depth < len(ids) and len(chosen) < limit:
                chosen.append(ids[depth])
    return chosen


def _claim(public_id: str, now: datetime) -> bool:
    """Claim just this row (as another worker would): True if it was free and due."""
    rows = db.session.scalars(
        sa.update(Notification)
        .where(Notification.public_id == public_id, _claimable(Notification, now, public_id))
        .values(locked_until=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return len(rows) == 1


def _lanes(rows: list[_Row]) -> list[_Lane]:
    lanes: dict[tuple, _Lane] = {}
    for row in rows:  # ordered by id
        key = (row.user_id, row.channel, row.urgent)
        lane = lanes.get(key)
        if lane is None:
            lane = lanes[key] = _Lane(row.user_id, row.channel, row.urgent, [])
        lane.rows.append(row)
    return list(lanes.values())


def _hold_back_overtaking(lanes: list[_Lane]) -> list[Outcome]:
    """Give back claimed rows that have an older pending row of their lane outside the batch
    (another worker claimed it in between, or only this row was asked for): they go after it.
    """
    mine = [row.id for lane in lanes for row in lane.rows]
    older_in_lane = [
        sa.and_(
            Notification.user_id == lane.user_id,
            Notification.channel == lane.channel,
            _lane_filter(lane.urgent),
            Notification.id < lane.rows[-1].id,
        )
        for lane in lanes
    ]
    others = db.session.execute(
        sa.select(
            Notification.id, Notification.user_id, Notification.channel, Notification.event_type
        )
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.id.not_in(mine),
            sa.or_(*older_in_lane),
        )
        .order_by(Notification.id)
    ).all()
    first_outside: dict[tuple, int] = {}
    for row_id, user_id, channel, kind in others:
        first_outside.setdefault((user_id, channel, kinds.is_urgent(kind)), row_id)
    results: list[_Result] = []
    for lane in lanes:
        barrier = first_outside.get((lane.user_id, lane.channel, lane.urgent))
        if barrier is None:
            continue
        keep = [row for row in lane.rows if row.id < barrier]
        for row in lane.rows[len(keep) :]:
            results.append(_Result(row, Status.WAITING))
        lane.rows = keep
    if not results:
        db.session.rollback()
        return []
    rows = _load({result.row.id for result in results})
    for result in results:
        row = rows[result.row.id]
        row.attempts -= 1
        row.locked_until = None  # no job: the row it waits for wakes it
    db.session.commit()
    return [
        Outcome(Status.WAITING, result.row.public_id, "an older notification goes first")
        for result in results
    ]


# --- Preparing (database reads, templates, secrets) -----------------------------------------


def _prepare(lanes: list[_Lane], now: datetime, cfg: NotifySettings) -> None:
    """Everything a lane needs to send without touching the database."""
    ids = [row.id for lane in lanes for row in lane.rows]
    rows = _load(ids)
    webhook_users = {lane.user_id for lane in lanes if lane.channel == NotificationChannel.WEBHOOK}
    email_users = {lane.user_id for lane in lanes if lane.channel == NotificationChannel.EMAIL}
    routine_users = {lane.user_id for lane in lanes if not lane.urgent}
    hooks = _by_user(WebhookEndpoint, WebhookEndpoint.user_id, webhook_users)
    users = _by_user(User, User.id, email_users)
    quiet = _by_user(QuietHours, QuietHours.user_id, routine_users)
    snapshots: dict[int, _Endpoint | AttemptResult] = {}

    for lane in lanes:
        lane.quiet = limits.QuietPeriod.of(quiet.get(lane.user_id)) if not lane.urgent else None
        if lane.channel == NotificationChannel.WEBHOOK:
            if lane.user_id not in snapshots:
                snapshots[lane.user_id] = _endpoint_snapshot(hooks.get(lane.user_id), now)
            snapshot = snapshots[lane.user_id]
            if isinstance(snapshot, AttemptResult):
                for row in lane.rows:
                    row.failure = snapshot
                    row.blame_endpoint = snapshot is not _NO_ENDPOINT
            else:
                lane.endpoint = snapshot
        for row in lane.rows:
            if row.failure is not None:
                continue
            notification = rows[row.id]
            try:
                if row.channel == NotificationChannel.EMAIL:
                    row.message = channels.build_email(notification, users[row.user_id], cfg)
                else:
                    row.body = channels.webhook_body(notification)
            except Exception as exc:
                # A broken row fails instead of stopping the batch or looping.
                logger.exception("preparing notification %s failed", row.public_id)
                row.failure = _internal_error(exc)
                row.blame_endpoint = False
    db.session.commit()  # end the read transaction before the network work


def _load(ids) -> dict[int, Notification]:
    return {
        row.id: row
        for row in db.session.scalars(
            sa.select(Notification)
            .where(Notification.id.in_(list(ids)))
            .execution_options(populate_existing=True)
        )
    }


def _by_user(model, column, user_ids: set[int]) -> dict:
    if not user_ids:
        return {}
    rows = db.session.scalars(sa.select(model).where(column.in_(user_ids)))
    key = "id" if model is User else "user_id"
    return {getattr(row, key): row for row in rows}


_NO_ENDPOINT = AttemptResult(False, "No webhook endpoint is set up.", permanent=True)


def _endpoint_snapshot(
    endpoint: WebhookEndpoint | None, now: datetime
) -> _Endpoint | AttemptResult:
    """What the lane sends with, or why none of its rows can be sent."""
    if endpoint is None or not endpoint.enabled:
        if endpoint is None:
            return _NO_ENDPOINT
        reason = "The webhook endpoint is disabled" + (
            f": {endpoint.disabled_reason}" if endpoint.disabled_reason else "."
        )
        return AttemptResult(False, reason, permanent=True)
    try:
        secrets = endpoints.signing_secrets(endpoint, now)
    except crypto.CryptoError:
        error = (
            "The webhook signing secret cannot be decrypted (the server's ENCRYPTION_KEY "
            "changed); rotate the secret on the notifications page."
        )
        return AttemptResult(False, error, permanent=True)
    return _Endpoint(endpoint.url, secrets, endpoint.consecutive_failures)


def _internal_error(exc: Exception) -> AttemptResult:
    return AttemptResult(
        False,
        f"Internal error while sending ({type(exc).__name__}); the operator can see it in the log.",
    )


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


def _run_lane(lane: _Lane, batch: _Batch) -> None:
    """Send the lane's rows in order; stop at the first one that has to wait."""
    try:
        _send_lane(lane, batch)
    except Exception:  # never lose the lane's results to a bug
        logger.exception("sending a lane of user %s crashed", lane.user_id)
    done = len(lane.results)
    for row in lane.rows[done:]:
        lane.results.append(_Result(row, Status.RELEASED))


def _send_lane(lane: _Lane, batch: _Batch) -> None:
    cfg = batch.cfg
    targets: dict[str, netguard.Target] = {}
    for index, row in enumerate(lane.rows):
        if batch.stop.is_set() or time.monotonic() > batch.send_until:
            return  # the rest is released
        if not lane.urgent:
            until = limits.quiet_until(lane.quiet, batch.now)
            if until is not None:
                lane.results.append(_Result(row, Status.HELD, next_at=until))
                _wait_rest(lane, index, until)
                return
        if row.failure is not None:
            result = row.failure
        else:
            window = limits.acquire(batch.redis, row.user_id, batch.now, cfg)
            if window is not None:
                lane.results.append(
                    _Result(
                        row,
                        Status.DEFERRED,
                        AttemptResult(False, f"{window.name} limit reached"),
                        next_at=window.ends_at,
                    )
                )
                _wait_rest(lane, index, window.ends_at)
                return
            try:
                result = _attempt(row, lane, batch, targets)
            except Exception as exc:
                logger.exception("delivering notification %s crashed", row.public_id)
                result = _internal_error(exc)
        at = batch.clock()
        if result.ok:
            lane.results.append(_Result(row, Status.SENT, result, at=at))
            if lane.endpoint is not None:
                lane.endpoint.failures = 0
            continue
        if not result.permanent and row.attempts < cfg.max_attempts:
            delay = cfg.retry_delay(row.attempts)
            if result.retry_after is not None:
                delay = max(delay, min(result.retry_after, cfg.retry_after_max))
            next_at = at + timedelta(seconds=delay)
            lane.results.append(_Result(row, Status.RETRY, result, next_at=next_at, at=at))
            _wait_rest(lane, index, next_at)
            return
        lane.results.append(_Result(row, Status.FAILED, result, at=at))
        if lane.endpoint is not None and row.failure is None:
            lane.endpoint.failures += 1
            if result.gone or lane.endpoint.failures >= cfg.endpoint_max_failures:
                return  # the endpoint is disabled when this is recorded; the rest fails then


def _wait_rest(lane: _Lane, index: int, until: datetime) -> None:
    for row in lane.rows[index + 1 :]:
        lane.results.append(_Result(row, Status.WAITING, next_at=until))


def _attempt(
    row: _Row, lane: _Lane, batch: _Batch, targets: dict[str, netguard.Target]
) -> AttemptResult:
    if row.channel == NotificationChannel.EMAIL:
        return _send_email(batch.app, row.message)
    assert lane.endpoint is not None and row.body is not None
    cfg = batch.cfg
    url = lane.endpoint.url
    target = targets.get(url)
    if target is None:
        try:
            target = netguard.check_url(
                url, allow_http=cfg.allow_http, allowed_hosts=cfg.allowed_hosts
            )
        except netguard.UnresolvableHostError as exc:
            return AttemptResult(False, str(exc))
        except netguard.UnsafeURLError as exc:
            return AttemptResult(False, f"Webhook URL refused: {exc}", permanent=True)
        targets[url] = target
    # Signed at send time: the timestamp is the attempt's, the id the notification's.
    headers = signing.build_headers(
        row.public_id, int(time.time()), row.body, lane.endpoint.secrets
    )
    result = post_webhook(
        target,
        row.body,
        headers,
        timeout=cfg.webhook_timeout,
        ca_bundle=cfg.ca_bundle,
        pools=batch.pools,
    )
    if result.ok:
        return AttemptResult(True, status_code=result.status_code)
    return AttemptResult(
        False,
        result.error,
        status_code=result.status_code,
        retry_after=result.retry_after,
        gone=result.gone,
        permanent=result.gone,
    )


def _send_email(app: Flask, message: Message | None) -> AttemptResult:
    try:
        with app.app_context():
            mail.send(message)
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        text = " ".join(str(exc).split())[:200]
        error = f"Email could not be sent: {type(exc).__name__}" + (f": {text}" if text else "")
        return AttemptResult(False, error)
    except Exception as exc:  # a bad message must fail the row, not loop forever
        logger.exception("unexpected error sending an email")
        return AttemptResult(False, f"Email could not be sent: {type(exc).__name__}")
    return AttemptResult(True)


# --- Recording ------------------------------------------------------------------------------


def _record(lanes: list[_Lane], batch: _Batch) -> list[Outcome]:
    """Write the finished lanes' results in one transaction."""
    now = batch.clock()
    results = [result for lane in lanes for result in lane.results]
    rows = _load(result.row.id for result in results)
    webhook_users = {lane.user_id for lane in lanes if lane.channel == NotificationChannel.WEBHOOK}
    hooks = _by_user(WebhookEndpoint, WebhookEndpoint.user_id, webhook_users)
    cfg = settings.load()
    outcomes = []
    for lane in lanes:
        for result in lane.results:
            row = rows[result.row.id]
            endpoint = (
                hooks.get(row.user_id) if lane.channel == NotificationChannel.WEBHOOK else None
            )
            outcomes.append(_apply(row, result, endpoint, cfg, now))
        until = lane.stopped_until
        if until is not None:
            _postpone_rest_of_lane(lane, until)
        else:
            early = [row.due for row in lane.rows if row.due is not None and row.due > batch.now]
            if early:
                _free_rest_of_lane(lane, max(early), now)
    db.session.commit()
    for outcome in outcomes:
        _log(outcome)
    return outcomes


def _apply(
    row: Notification,
    result: _Result,
    endpoint: WebhookEndpoint | None,
    cfg: NotifySettings,
    now: datetime,
) -> Outcome:
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
            outbox.enqueue_after_commit(row.public_id, row.attempts, row.next_attempt_at)
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
        if endpoint is not None:
            endpoint.consecutive_failures = 0
            endpoint.last_success_at = now
        return Outcome(status, row.public_id)

    error = (attempt.error or "unknown error")[:MAX_ERROR_CHARS]
    row.last_error = error
    if status == Status.RETRY:
        row.next_attempt_at = result.next_at
        outbox.enqueue_after_commit(row.public_id, row.attempts, row.next_attempt_at)
        return Outcome(status, row.public_id, error, row.next_attempt_at)

    row.status = NotificationStatus.FAILED
    row.next_attempt_at = None
    if endpoint is not None and endpoint.enabled and result.row.blame_endpoint:
        if attempt.gone:
            endpoints.disable(
                endpoint,
                "The receiver answered 410 Gone, which means it wants no more webhooks.",
                now,
            )
        else:
            endpoint.consecutive_failures += 1
            if endpoint.consecutive_failures >= cfg.endpoint_max_failures:
                endpoints.disable(
                    endpoint,
                    f"{endpoint.consecutive_failures} notifications in a row failed every "
                    f"attempt (last error: {error})",
                    now,
                )
    return Outcome(status, row.public_id, error)


def _postpone_rest_of_lane(lane: _Lane, until: datetime) -> None:
    """Rows of a stopped lane that were not in the batch wait for the same time (so the page
    says when, and the sweeper does not wake them early)."""
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == lane.user_id,
            Notification.channel == lane.channel,
            Notification.status == NotificationStatus.PENDING,
            Notification.id > lane.rows[-1].id,
            _lane_filter(lane.urgent),
            sa.or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at < until),
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )


def _free_rest_of_lane(lane: _Lane, waited_until: datetime, now: datetime) -> None:
    """The lane's rows were taken before they were due (a job may run a little early), so the
    rows that waited behind them until that time are free now: due at once, not a moment later
    when no job would come for them."""
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == lane.user_id,
            Notification.channel == lane.channel,
            Notification.status == NotificationStatus.PENDING,
            Notification.id > lane.rows[-1].id,
            _lane_filter(lane.urgent),
            Notification.next_attempt_at > now,
            Notification.next_attempt_at <= waited_until,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


def _log(outcome: Outcome) -> None:
    if outcome.status == Status.SENT:
        logger.info("notification %s sent", outcome.public_id)
    elif outcome.status == Status.FAILED:
        logger.warning("notification %s failed: %s", outcome.public_id, outcome.detail)
    elif outcome.status in {Status.RETRY, Status.DEFERRED, Status.HELD}:
        logger.info(
            "notification %s: %s (%s) until %s",
            outcome.public_id,
            outcome.status.value,
            outcome.detail,
            outcome.next_at,
        )


# --- Single-row helpers ---------------------------------------------------------------------


def _why_not_claimed(public_id: str, now: datetime) -> Outcome:
    row = db.session.execute(
        sa.select(Notification.status, Notification.next_attempt_at).where(
            Notification.public_id == public_id
        )
    ).first()
    db.session.rollback()
    if row is not None and row.status == NotificationStatus.PENDING:
        due = row.next_attempt_at
        if due is not None and due > now + EARLY_TOLERANCE:
            return Outcome(Status.SKIPPED, public_id, "not due yet", due)
    return Outcome(Status.SKIPPED, public_id)


def _kick_next(public_id: str, now: datetime) -> None:
    """Queue a job for the lane's next due row, which waited for this one."""
    row = db.session.scalar(sa.select(Notification).where(Notification.public_id == public_id))
    if row is None:
        return
    following = db.session.execute(
        sa.select(Notification.public_id, Notification.attempts, Notification.next_attempt_at)
        .where(
            Notification.user_id == row.user_id,
            Notification.channel == row.channel,
            Notification.status == NotificationStatus.PENDING,
            Notification.id > row.id,
            _lane_filter(kinds.is_urgent(row.event_type)),
        )
        .order_by(Notification.id)
        .limit(1)
    ).first()
    db.session.rollback()
    if following is None:
        return
    next_id, attempts, due = following
    if due is None or due <= now + EARLY_TOLERANCE:
        outbox.schedule([outbox.Wakeup(next_id, attempts, due)], now_only=True)
