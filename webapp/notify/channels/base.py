"""The one interface every channel implements, and the plain data delivery hands it.

A channel owns three things: how it renders an event (`prepare`, in the delivering thread,
with the database), how it sends one row (`send`, in a sending thread, without the database),
and what an answer means (`AttemptResult`: delivered, retry after N seconds, permanent failure,
or "stop using this destination"). Everything else — claiming, order, quiet hours, limits,
retries with backoff, statuses — is `webapp.notify.delivery`'s and the same for every channel.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Flask
from redis import Redis

from webapp.extensions import db
from webapp.models import Notification, NotificationChannel
from webapp.notify.limits import QuietPeriod
from webapp.notify.settings import NotifySettings


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
    RATE_LIMITED = "rate_limited"  # over a channel's own cap: not sent, and never will be


@dataclass(frozen=True)
class Outcome:
    status: Status
    public_id: str
    detail: str | None = None
    next_at: datetime | None = None


@dataclass(frozen=True)
class AttemptResult:
    """A channel's verdict on one attempt."""

    ok: bool
    error: str | None = None  # shown to the user: never a secret
    status_code: int | None = None
    retry_after: float | None = None  # the receiver asked us to wait this long (seconds)
    permanent: bool = False  # retrying cannot help (e.g. a forbidden URL)
    disable: str | None = None  # stop using this destination, for this reason (implies permanent)
    capped: bool = False  # over the channel's own cap: skipped as "rate limited"
    wait: float | None = None  # not attempted: the destination's rate limit is full this long

    @property
    def final(self) -> bool:
        return self.permanent or self.disable is not None or self.capped


@dataclass
class Row:
    id: int
    public_id: str
    user_id: int
    channel: NotificationChannel
    urgent: bool
    attempts: int  # including the attempt the claim counted
    due: datetime | None = None  # when it was due (a job may take its row a little early)
    kind: str = ""
    message: Any = None  # what the channel prepared to send
    failure: AttemptResult | None = None  # known before sending: no destination, broken row
    blame: bool = True  # whether a failure counts against the destination
    destination: int | None = None  # the webhook endpoint; None for one-destination channels


@dataclass
class Result:
    row: Row
    status: Status
    attempt: AttemptResult | None = None
    next_at: datetime | None = None
    at: datetime | None = None


@dataclass
class Lane:
    """One user's rows of one channel, one urgency and one destination, sent in order."""

    user_id: int
    channel: NotificationChannel
    urgent: bool
    rows: list[Row]
    quiet: QuietPeriod | None = None
    target: Any = None  # the destination the channel prepared (endpoint, chat, number)
    hold_until: datetime | None = None  # the destination asked for quiet (e.g. /mute)
    results: list[Result] = field(default_factory=list)
    destination: int | None = None  # the webhook endpoint; None for one-destination channels

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

    def fail_all(self, failure: AttemptResult, blame: bool = False) -> None:
        for row in self.rows:
            row.failure = failure
            row.blame = blame


@dataclass
class SendContext:
    """What a sending thread may use: no database session, only these."""

    app: Flask
    cfg: NotifySettings
    redis: Redis
    pools: Any  # webhook_client.ConnectionPools
    clock: Callable[[], datetime]


def internal_error(exc: Exception) -> AttemptResult:
    return AttemptResult(
        False,
        f"Internal error while sending ({type(exc).__name__}); the operator can see it in the log.",
    )


def by_user(model, column, user_ids: set[int]) -> dict:
    """Rows of `model` keyed by user id (by id for User itself), one query."""
    if not user_ids:
        return {}
    rows = db.session.scalars(sa.select(model).where(column.in_(user_ids)))
    key = "id" if column.key == "id" else "user_id"
    return {getattr(row, key): row for row in rows}


def by_id(model, ids: set[int]) -> dict:
    """Rows of `model` keyed by id, one query."""
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(sa.select(model).where(model.id.in_(ids)))}


class Channel(abc.ABC):
    """One way of telling a user. Subclasses are registered in `webapp.notify.channels`."""

    kind: ClassVar[NotificationChannel]
    #: Rows of one lane a batch takes at most (fewer when the destination is slow by rule).
    lane_depth: ClassVar[int] = 8

    def unavailable(self, user_id: int) -> str | None:
        """Why this user cannot be reached on the channel now (None when they can): events
        then make no row for it, and "send a test" says this."""
        return None

    def destinations(self, user_id: int, event_type: str | None) -> list[int | None]:
        """Where one event goes on this channel: one outbox row per item (a webhook endpoint
        id; None for a channel with one destination per user). `event_type` None asks for
        every reachable destination ("send a test")."""
        return [None]

    def chosen_events(self, user_id: int) -> set[str] | None:
        """The event types the user chose for this channel when the destination keeps them
        (webhook endpoints); None when the preference rows do."""
        return None

    def cannot_choose(self, user_id: int) -> str | None:
        """Why the preference matrix cannot record a choice for this channel yet (None when
        it can): the column then shows disabled with this hint, and a toggle is refused."""
        return None

    def choose(self, user_id: int, event_type: str, on: bool) -> bool:
        """Record a preference-matrix choice on the destination; False when the preference
        rows keep it."""
        return False

    @abc.abstractmethod
    def prepare(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        """With the database: set each lane's `target` and each row's `message`, or the row's
        `failure` when it cannot be sent (no destination, a broken payload)."""

    @abc.abstractmethod
    def send(self, row: Row, lane: Lane, ctx: SendContext) -> AttemptResult:
        """Without the database (a sending thread): send one prepared row."""

    def after_attempt(
        self, lane: Lane, row: Row, result: AttemptResult, final: bool, ctx: SendContext
    ) -> bool:
        """In the sending thread after an attempt (`final`: no retry follows); True stops the
        rest of the lane for this batch."""
        return False

    def record(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        """With the database, in the transaction that writes these lanes' results: keep the
        destination's own bookkeeping (success, failures, disabling)."""
        return None
