"""Deliver one outbox row: claim it, respect order, quiet hours and limits, send, record.

Every step is safe to repeat. A row is sent only by the worker that claimed it with an atomic
`UPDATE ... WHERE status='pending' AND unlocked`, and a sent row is never claimed again, so a
job that runs twice (enqueued by both the commit hook and the sweeper) sends once.

Order: rows of one user and channel go out in the order they were created, in two lanes —
urgent (critical events, tests) and routine — so an alarm never waits behind a trade report
held by quiet hours or a rate limit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

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
from webapp.notify.webhook_client import DeliveryResult
from webapp.notify.webhook_client import deliver as post_webhook

logger = logging.getLogger(__name__)

#: How long a claim lasts: longer than one attempt can take (webhook timeout, SMTP timeout).
CLAIM_SECONDS = 120
#: A job may run a little before its due time (clock differences between machines).
EARLY_TOLERANCE = timedelta(seconds=1)
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    """What one delivery call did: `sent`, `failed`, `retry` (will try again at `next_at`),
    `deferred` (rate limit), `held` (quiet hours), `waiting` (an older row goes first) or
    `skipped` (nothing to do: already sent, not due, or claimed by another worker)."""

    status: str
    public_id: str
    detail: str | None = None
    next_at: datetime | None = None
    #: The next due row of the same lane, when the caller asked to carry on with it itself.
    next_in_lane: str | None = None


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    error: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    permanent: bool = False  # retrying cannot help (e.g. a forbidden URL)
    gone: bool = False  # the receiver answered 410


def deliver(public_id: str, *, now: datetime | None = None, chain: int = 0) -> Outcome:
    """Try to deliver the notification `public_id` now. `now` is for tests (a fixed clock).

    With `chain`, up to that many following rows of the same user and channel that were
    waiting for this one are delivered in the same call (a worker saves a job per row);
    otherwise the next one gets its own job. Returns the first row's outcome.
    """
    first = outcome = _deliver_one(public_id, now, kick=chain <= 0)
    remaining = chain
    while outcome.next_in_lane and remaining > 0:
        remaining -= 1
        outcome = _deliver_one(outcome.next_in_lane, now, kick=remaining <= 0)
    return first


def _deliver_one(public_id: str, now: datetime | None, kick: bool) -> Outcome:
    fixed_now = now
    now = now or utcnow()
    if not _claim(public_id, now):
        return Outcome("skipped", public_id)
    try:
        return _process(public_id, now, fixed_now, kick)
    except Exception as exc:
        # A bug or a broken row: count it as a failed attempt so the row ends `failed`
        # instead of being handed out by the sweeper forever.
        logger.exception("delivering notification %s crashed", public_id)
        db.session.rollback()
        row = db.session.scalar(sa.select(Notification).where(Notification.public_id == public_id))
        if row is None or row.status != NotificationStatus.PENDING:
            _release(public_id)
            return Outcome("skipped", public_id)
        row.attempts += 1
        error = (
            f"Internal error while sending ({type(exc).__name__}); "
            "the operator can see it in the log."
        )
        return _finish(
            row, None, AttemptResult(False, error), fixed_now or utcnow(), settings.load(), kick
        )


def _claim(public_id: str, now: datetime) -> bool:
    result = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.public_id == public_id,
            Notification.status == NotificationStatus.PENDING,
            sa.or_(
                Notification.next_attempt_at.is_(None),
                Notification.next_attempt_at <= now + EARLY_TOLERANCE,
            ),
            sa.or_(Notification.locked_until.is_(None), Notification.locked_until < now),
        )
        .values(locked_until=now + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _release(public_id: str) -> None:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.public_id == public_id)
        .values(locked_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _lane_filter(row: Notification):
    urgent = list(kinds.URGENT)
    return (
        Notification.event_type.in_(urgent)
        if kinds.is_urgent(row.event_type)
        else Notification.event_type.not_in(urgent)
    )


def _older_pending(row: Notification) -> datetime | bool | None:
    """The earliest due time of older pending rows in the row's lane; False if there is none."""
    count, earliest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Notification.next_attempt_at)).where(
            Notification.user_id == row.user_id,
            Notification.channel == row.channel,
            Notification.status == NotificationStatus.PENDING,
            Notification.id < row.id,
            _lane_filter(row),
        )
    ).one()
    if not count:
        return False
    return earliest


def _postpone(row: Notification, until: datetime, now: datetime) -> None:
    row.next_attempt_at = until
    row.locked_until = None
    row.updated_at = now


def _process(public_id: str, now: datetime, fixed_now: datetime | None, kick: bool) -> Outcome:
    cfg = settings.load()
    row = db.session.scalar(sa.select(Notification).where(Notification.public_id == public_id))
    assert row is not None  # we just claimed it

    older = _older_pending(row)
    if older is not False:
        # The older row's completion enqueues this one (see _next_in_lane).
        until = max(older or now, now)
        _postpone(row, until, now)
        db.session.commit()
        return Outcome("waiting", public_id, "an older notification goes first", until)

    if not kinds.is_urgent(row.event_type):
        until = limits.quiet_until(db.session.get(QuietHours, row.user_id), now)
        if until is not None:
            _postpone(row, until, now)
            outbox.enqueue_after_commit(public_id, row.attempts, until)
            db.session.commit()
            logger.info("notification %s held by quiet hours until %s", public_id, until)
            return Outcome("held", public_id, "quiet hours", until)

    endpoint = None
    if row.channel == NotificationChannel.WEBHOOK:
        endpoint = endpoints.endpoint_for(row.user_id)
        if endpoint is None or not endpoint.enabled:
            reason = "No webhook endpoint is set up."
            if endpoint is not None:
                reason = "The webhook endpoint is disabled" + (
                    f": {endpoint.disabled_reason}" if endpoint.disabled_reason else "."
                )
            return _finish(row, None, AttemptResult(False, reason, permanent=True), now, cfg, kick)

    window = limits.acquire(redis_ext.conn, row.user_id, now, cfg)
    if window is not None:
        _postpone(row, window.ends_at, now)
        outbox.enqueue_after_commit(public_id, row.attempts, window.ends_at)
        db.session.commit()
        logger.info(
            "notification %s waits for the %s limit (%d) until %s",
            public_id,
            window.name,
            window.limit,
            window.ends_at,
        )
        return Outcome("deferred", public_id, f"{window.name} limit reached", window.ends_at)

    # Build everything the attempt needs, then record the attempt before sending, so that a
    # worker dying mid-send still counts it.
    row.attempts += 1
    row.updated_at = now
    if row.channel == NotificationChannel.EMAIL:
        user = db.session.get(User, row.user_id)
        message = channels.build_email(row, user, cfg)
        db.session.commit()
        result = _send_email(message)
    else:
        assert endpoint is not None
        url = endpoint.url
        try:
            secrets = endpoints.signing_secrets(endpoint, now)
        except crypto.CryptoError:
            error = (
                "The webhook signing secret cannot be decrypted (the server's ENCRYPTION_KEY "
                "changed); rotate the secret on the notifications page."
            )
            return _finish(
                row, endpoint, AttemptResult(False, error, permanent=True), now, cfg, kick
            )
        body = channels.webhook_body(row)
        db.session.commit()
        result = _send_webhook(public_id, url, body, secrets, cfg)

    after = fixed_now or utcnow()
    row = db.session.scalar(sa.select(Notification).where(Notification.public_id == public_id))
    endpoint = endpoints.endpoint_for(row.user_id) if endpoint is not None else None
    return _finish(row, endpoint, result, after, cfg, kick)


def _send_email(message) -> AttemptResult:
    try:
        mail.send(message)
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        text = " ".join(str(exc).split())[:200]
        error = f"Email could not be sent: {type(exc).__name__}" + (f": {text}" if text else "")
        return AttemptResult(False, error)
    except Exception as exc:  # a bad message must fail the row, not loop forever
        logger.exception("unexpected error sending an email")
        return AttemptResult(False, f"Email could not be sent: {type(exc).__name__}")
    return AttemptResult(True)


def _send_webhook(
    public_id: str, url: str, body: bytes, secrets: list[str], cfg: NotifySettings
) -> AttemptResult:
    try:
        target = netguard.check_url(url, allow_http=cfg.allow_http, allowed_hosts=cfg.allowed_hosts)
    except netguard.UnresolvableHostError as exc:
        return AttemptResult(False, str(exc))
    except netguard.UnsafeURLError as exc:
        return AttemptResult(False, f"Webhook URL refused: {exc}", permanent=True)
    # Signed at send time: the timestamp is the attempt's, the id the notification's.
    headers = signing.build_headers(public_id, int(time.time()), body, secrets)
    result: DeliveryResult = post_webhook(
        target, body, headers, timeout=cfg.webhook_timeout, ca_bundle=cfg.ca_bundle
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


def _finish(
    row: Notification,
    endpoint: WebhookEndpoint | None,
    result: AttemptResult,
    now: datetime,
    cfg: NotifySettings,
    kick: bool = True,
) -> Outcome:
    row.locked_until = None
    row.updated_at = now
    row.last_status_code = result.status_code
    if result.ok:
        row.status = NotificationStatus.SENT
        row.sent_at = now
        row.next_attempt_at = None
        row.last_error = None
        if endpoint is not None:
            endpoint.consecutive_failures = 0
            endpoint.last_success_at = now
        following = _next_in_lane(row, now, kick)
        db.session.commit()
        logger.info("notification %s sent by %s", row.public_id, row.channel.value)
        return Outcome("sent", row.public_id, next_in_lane=following)

    error = (result.error or "unknown error")[:MAX_ERROR_CHARS]
    row.last_error = error
    if not result.permanent and row.attempts < cfg.max_attempts:
        delay = cfg.retry_delay(row.attempts)
        if result.retry_after is not None:
            delay = max(delay, min(result.retry_after, cfg.retry_after_max))
        row.next_attempt_at = now + timedelta(seconds=delay)
        outbox.enqueue_after_commit(row.public_id, row.attempts, row.next_attempt_at)
        db.session.commit()
        logger.info(
            "notification %s attempt %d failed (%s); retry in %gs",
            row.public_id,
            row.attempts,
            error,
            delay,
        )
        return Outcome("retry", row.public_id, error, row.next_attempt_at)

    row.status = NotificationStatus.FAILED
    row.next_attempt_at = None
    if endpoint is not None:
        if result.gone:
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
    following = _next_in_lane(row, now, kick)
    db.session.commit()
    logger.warning(
        "notification %s failed after %d attempt(s): %s", row.public_id, row.attempts, error
    )
    return Outcome("failed", row.public_id, error, next_in_lane=following)


def _next_in_lane(row: Notification, now: datetime, kick: bool) -> str | None:
    """The next due row of the lane, which waited for this one: enqueued after commit
    (`kick`), or returned for the caller to deliver itself."""
    following = db.session.execute(
        sa.select(Notification.public_id, Notification.attempts, Notification.next_attempt_at)
        .where(
            Notification.user_id == row.user_id,
            Notification.channel == row.channel,
            Notification.status == NotificationStatus.PENDING,
            Notification.id > row.id,
            _lane_filter(row),
        )
        .order_by(Notification.id)
        .limit(1)
    ).first()
    if following is None:
        return None
    public_id, attempts, due = following
    if due is not None and due > now + EARLY_TOLERANCE:
        return None
    if kick:
        outbox.enqueue_after_commit(public_id, attempts, due)
        return None
    return public_id


def drain(*, now: datetime | None = None, rounds: int = 100) -> list[Outcome]:
    """Deliver every due row in this process, oldest first, until none is due (or `rounds`
    passes): for the CLI and tests, which cannot wait for a worker."""
    outcomes: list[Outcome] = []
    for _ in range(rounds):
        current = now or utcnow()
        due = [row.public_id for row in db.session.execute(outbox.due_rows(current)).all()]
        db.session.rollback()
        progressed = False
        for public_id in due:
            outcome = deliver(public_id, now=now)
            outcomes.append(outcome)
            if outcome.status in {"sent", "failed", "retry"}:
                progressed = True
        if not progressed:
            break
    return outcomes
