"""Claiming outbox rows for a batch: which rows, in which lanes, and who goes first.

A row is sent only by the worker whose claim took it — one `UPDATE ... WHERE status='pending'
AND due AND unlocked` for the whole batch — and a sent row is never claimed again, so a job
that runs twice sends once. The claim also counts the attempt, so a worker dying mid-send has
used it; rows the batch then does not try get it back.

Rows of one user, channel and destination go out in the order they were created, in two
lanes — urgent (critical events, tests) and routine — so an alarm never waits behind a trade
report held by quiet hours or a rate limit. Each webhook endpoint is a destination of its own
(`endpoint_id`; NULL for the one-destination channels), so an endpoint waiting for a retry
holds back only its own later rows, not the user's other endpoints.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm as so

from webapp.extensions import db
from webapp.models import Notification, NotificationStatus
from webapp.notify import channels, jobs, kinds
from webapp.notify.channels.base import Lane, Outcome, Result, Row, Status
from webapp.notify.settings import NotifySettings

logger = logging.getLogger(__name__)

#: How long a claim lasts: longer than a batch can take (see delivery.SEND_WINDOW).
CLAIM_SECONDS = 120
#: The job for a row may run a little before the row is due (clocks of different machines).
EARLY_TOLERANCE = timedelta(seconds=1)
#: A lane's rows in one batch at most (they are sent one after another).
LANE_DEPTH = 8


def _lane_of(table) -> sa.ColumnElement[bool]:
    return table.event_type.in_(list(kinds.URGENT))


def in_lane(
    user_id: int, channel, urgent: bool, destination: int | None, table=Notification
) -> sa.ColumnElement[bool]:
    """Rows of this lane: one user, channel, urgency and destination (NULL matches NULL)."""
    urgent_kinds = list(kinds.URGENT)
    return sa.and_(
        table.user_id == user_id,
        table.channel == channel,
        table.event_type.in_(urgent_kinds) if urgent else table.event_type.not_in(urgent_kinds),
        table.endpoint_id.is_not_distinct_from(destination),
    )


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


def claim_batch(
    now: datetime, cfg: NotifySettings, *, first: str | None = None, only: str | None = None
) -> list[Row]:
    """Claim up to `cfg.batch_size` due rows: the oldest rows of up to `batch_size / 2` lanes,
    LANE_DEPTH rows of a lane at most, so a second worker finds lanes of its own.

    A lane is taken only from its oldest pending row on and only while its rows are due and
    free. The UPDATE re-checks every row, so of two workers racing for a row one gets it
    (and `hold_back_overtaking` sorts out a lane split between them).
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
                Notification.endpoint_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        if claimed or only is not None:
            break
    return [
        Row(i, p, u, c, kinds.is_urgent(k), a, d, kind=k, destination=e)
        for i, p, u, c, k, a, d, e in sorted(claimed)
    ]


def _choose(now: datetime, first: str | None, limit: int) -> list[int]:
    """Ids to claim: lane heads first (oldest first), then their followers, round-robin."""
    n = Notification
    # The oldest due and free row of each lane is its head unless an older row is pending
    # (claimed elsewhere or waiting): then the whole lane waits.
    due = (
        sa.select(n.id, n.user_id, n.channel, n.endpoint_id, _lane_of(n).label("lane"))
        .where(_claimable(n, now, first))
        .subquery()
    )
    lane_of_due = (due.c.user_id, due.c.channel, due.c.endpoint_id, due.c.lane)
    firsts = (
        sa.select(*lane_of_due, sa.func.min(due.c.id).label("head"))
        .group_by(*lane_of_due)
        .subquery()
    )
    older = so.aliased(Notification)
    blocked = (
        sa.select(older.id)
        .where(
            older.user_id == firsts.c.user_id,
            older.channel == firsts.c.channel,
            older.endpoint_id.is_not_distinct_from(firsts.c.endpoint_id),
            older.status == NotificationStatus.PENDING,
            older.id < firsts.c.head,
            _lane_of(older) == firsts.c.lane,
        )
        .exists()
    )
    heads = db.session.execute(
        sa.select(
            firsts.c.head, firsts.c.user_id, firsts.c.channel, firsts.c.endpoint_id, firsts.c.lane
        )
        .where(~blocked)
        .order_by(firsts.c.head)
        .limit(max(1, limit // 2))
    ).all()
    if not heads:
        return []
    lanes: dict[tuple, list[int]] = {
        (user_id, channel, bool(urgent), endpoint): []
        for _head, user_id, channel, endpoint, urgent in heads
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
                n.endpoint_id,
                n.next_attempt_at,
                n.locked_until,
                sa.func.row_number()
                .over(
                    partition_by=(n.user_id, n.channel, n.endpoint_id, _lane_of(n)),
                    order_by=n.id,
                )
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
        for row_id, public_id, user_id, channel, kind, endpoint, due, locked, _rank in rows:
            key = (user_id, channel, kinds.is_urgent(kind), endpoint)
            if key not in lanes or key in stopped:
                continue
            if len(lanes[key]) >= channels.get(channel).lane_depth:
                continue  # e.g. one a second per Telegram chat: a second row would only wait
            free = locked is None or locked < now
            on_time = due is None or due <= (early_by if public_id == first else due_by)
            if free and on_time:
                lanes[key].append(row_id)
            else:
                stopped.add(key)
    else:
        for head, user_id, channel, endpoint, urgent in heads:
            lanes[(user_id, channel, bool(urgent), endpoint)].append(head)
    chosen: list[int] = []
    for depth in range(LANE_DEPTH):  # round-robin, so every lane gets its head first
        for ids in lanes.values():
            if depth < len(ids) and len(chosen) < limit:
                chosen.append(ids[depth])
    return chosen


def claim_one(public_id: str, now: datetime) -> bool:
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


def lanes_of(rows: list[Row]) -> list[Lane]:
    """A batch's rows by lane: one user's rows of one channel, urgency and destination (each
    webhook endpoint its own), so a stalled endpoint holds up only its own rows in the batch."""
    lanes: dict[tuple, Lane] = {}
    for row in rows:  # ordered by id
        key = (row.user_id, row.channel, row.urgent, row.destination)
        lane = lanes.get(key)
        if lane is None:
            lane = lanes[key] = Lane(
                row.user_id, row.channel, row.urgent, [], destination=row.destination
            )
        lane.rows.append(row)
    return list(lanes.values())


def hold_back_overtaking(lanes: list[Lane]) -> list[Outcome]:
    """Give back claimed rows that have an older pending row of their lane outside the batch
    (another worker claimed it in between, or only this row was asked for): they go after it.
    """
    mine = [row.id for lane in lanes for row in lane.rows]
    older_in_lane = [
        sa.and_(
            in_lane(lane.user_id, lane.channel, lane.urgent, lane.destination),
            Notification.id < lane.rows[-1].id,
        )
        for lane in lanes
    ]
    others = db.session.execute(
        sa.select(
            Notification.id,
            Notification.user_id,
            Notification.channel,
            Notification.event_type,
            Notification.endpoint_id,
        )
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.id.not_in(mine),
            sa.or_(*older_in_lane),
        )
        .order_by(Notification.id)
    ).all()
    first_outside: dict[tuple, int] = {}
    for row_id, user_id, channel, kind, endpoint in others:
        first_outside.setdefault((user_id, channel, kinds.is_urgent(kind), endpoint), row_id)
    results: list[Result] = []
    for lane in lanes:
        barrier = first_outside.get((lane.user_id, lane.channel, lane.urgent, lane.destination))
        if barrier is None:
            continue
        keep = [row for row in lane.rows if row.id < barrier]
        for row in lane.rows[len(keep) :]:
            results.append(Result(row, Status.WAITING))
        lane.rows = keep
    if not results:
        db.session.rollback()
        return []
    rows = load({result.row.id for result in results})
    for result in results:
        row = rows[result.row.id]
        row.attempts -= 1
        row.locked_until = None  # no job: the row it waits for wakes it
    db.session.commit()
    return [
        Outcome(Status.WAITING, result.row.public_id, "an older notification goes first")
        for result in results
    ]


def load(ids) -> dict[int, Notification]:
    return {
        row.id: row
        for row in db.session.scalars(
            sa.select(Notification)
            .where(Notification.id.in_(list(ids)))
            .execution_options(populate_existing=True)
        )
    }


def why_not_claimed(public_id: str, now: datetime) -> Outcome:
    """Why a row asked for was not sent: not due yet, or an older row of its own lane (same
    destination) is still pending and goes first; otherwise it was done or taken elsewhere."""
    row = db.session.scalar(sa.select(Notification).where(Notification.public_id == public_id))
    outcome = Outcome(Status.SKIPPED, public_id)
    if row is not None and row.status == NotificationStatus.PENDING:
        urgent = kinds.is_urgent(row.event_type)
        behind = db.session.scalar(
            sa.select(
                sa.select(Notification.id)
                .where(
                    in_lane(row.user_id, row.channel, urgent, row.endpoint_id),
                    Notification.status == NotificationStatus.PENDING,
                    Notification.id < row.id,
                )
                .exists()
            )
        )
        due = row.next_attempt_at
        if behind:
            outcome = Outcome(Status.WAITING, public_id, "an older notification goes first", due)
        elif due is not None and due > now + EARLY_TOLERANCE:
            outcome = Outcome(Status.SKIPPED, public_id, "not due yet", due)
    db.session.rollback()
    return outcome


def kick_next(public_id: str, now: datetime) -> None:
    """Queue a job for the lane's next due row, which waited for this one."""
    row = db.session.scalar(sa.select(Notification).where(Notification.public_id == public_id))
    if row is None:
        return
    following = db.session.execute(
        sa.select(Notification.public_id, Notification.attempts, Notification.next_attempt_at)
        .where(
            in_lane(row.user_id, row.channel, kinds.is_urgent(row.event_type), row.endpoint_id),
            Notification.status == NotificationStatus.PENDING,
            Notification.id > row.id,
        )
        .order_by(Notification.id)
        .limit(1)
    ).first()
    db.session.rollback()
    if following is None:
        return
    next_id, attempts, due = following
    if due is None or due <= now + EARLY_TOLERANCE:
        jobs.schedule([jobs.Wakeup(next_id, attempts, due)], now_only=True)
