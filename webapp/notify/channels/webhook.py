"""Webhook: a JSON envelope signed per Standard Webhooks, POSTed to one of the user's endpoints.

Each outbox row names its endpoint (`Notification.endpoint_id`): an event makes one row per
enabled endpoint subscribed to it. Each endpoint is a lane of its own (one user's rows of one
urgency to that endpoint), so a retry on one endpoint holds back only that endpoint's later
rows; each row is sent with its own endpoint's URL and secrets. An
endpoint that fails `NOTIFY_ENDPOINT_MAX_FAILURES` notifications in a row, or answers
410 Gone, is disabled and its owner told by email.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from webapp import crypto
from webapp.i18n.engine_text import WEBHOOK_FAILING, WEBHOOK_GONE
from webapp.i18n.marks import N_
from webapp.models import Notification, NotificationChannel, WebhookEndpoint
from webapp.notify import endpoints, netguard, settings, signing
from webapp.notify.channels.base import (
    AttemptResult,
    Channel,
    Lane,
    Row,
    SendContext,
    Status,
    by_id,
    internal_error,
)
from webapp.notify.webhook_client import deliver as post_webhook

logger = logging.getLogger(__name__)

# Why an endpoint is turned off: stored in English, shown through engine_text.
NO_ENDPOINT = AttemptResult(
    False, "No webhook endpoint is set up (or it was deleted).", permanent=True
)


@dataclass
class Target:
    """What a lane sends with (a detached copy of the endpoint)."""

    endpoint_id: int
    url: str
    secrets: list[str]
    failures: int  # consecutive failures so far (this batch adds its own)
    checked: netguard.Target | None = None


def webhook_body(notification: Notification) -> bytes:
    """The JSON envelope; the same bytes on every retry (only the signature header changes)."""
    created = notification.created_at.astimezone(UTC)
    envelope = {
        "type": notification.event_type,
        "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": notification.payload or {},
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def _snapshot(endpoint: WebhookEndpoint | None, now: datetime) -> Target | AttemptResult:
    """What the lane sends with, or why none of its rows can be sent."""
    if endpoint is None:
        return NO_ENDPOINT
    if not endpoint.enabled:
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
    return Target(endpoint.id, endpoint.url, secrets, endpoint.consecutive_failures)


def _endpoints(notifications: dict[int, Notification]) -> dict[int, WebhookEndpoint]:
    ids = {n.endpoint_id for n in notifications.values() if n.endpoint_id is not None}
    return by_id(WebhookEndpoint, ids)


NO_ENDPOINT = N_("Add (or enable) a webhook endpoint first.")


class WebhookChannel(Channel):
    kind = NotificationChannel.WEBHOOK

    def unavailable(self, user_id: int) -> str | None:
        if not any(endpoint.enabled for endpoint in endpoints.endpoints_of(user_id)):
            return NO_ENDPOINT
        return None

    def destinations(self, user_id: int, event_type: str | None) -> list[int | None]:
        if event_type is None:
            return [e.id for e in endpoints.endpoints_of(user_id) if e.enabled]
        return [e.id for e in endpoints.subscribed(user_id, event_type)]

    def chosen_events(self, user_id: int) -> set[str] | None:
        return {event for e in endpoints.endpoints_of(user_id) for event in e.events or []}

    def cannot_choose(self, user_id: int) -> str | None:
        # The column sets events on the user's endpoints: with none, a toggle would say
        # "saved" and keep nothing.
        if not endpoints.endpoints_of(user_id):
            return endpoints.NO_ENDPOINT_TO_CHOOSE
        return None

    def choose(self, user_id: int, event_type: str, on: bool) -> bool:
        endpoints.set_event(user_id, event_type, on)
        return True

    def prepare(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        hooks = _endpoints(notifications)
        snapshots: dict[int, Target | AttemptResult] = {}
        for lane in lanes:
            lane.target = {}  # endpoint id -> Target, for this lane's rows
            for row in lane.rows:
                endpoint_id = notifications[row.id].endpoint_id
                if endpoint_id is None or endpoint_id not in hooks:
                    row.failure, row.blame = NO_ENDPOINT, False
                    continue
                if endpoint_id not in snapshots:
                    snapshots[endpoint_id] = _snapshot(hooks[endpoint_id], now)
                snapshot = snapshots[endpoint_id]
                if isinstance(snapshot, AttemptResult):
                    row.failure, row.blame = snapshot, True
                    continue
                lane.target[endpoint_id] = snapshot
                try:
                    row.message = (endpoint_id, webhook_body(notifications[row.id]))
                except Exception as exc:
                    logger.exception("preparing notification %s failed", row.public_id)
                    row.failure = internal_error(exc)
                    row.blame = False

    def send(self, row: Row, lane: Lane, ctx: SendContext) -> AttemptResult:
        endpoint_id, body = row.message
        target: Target = lane.target[endpoint_id]
        cfg = ctx.cfg
        if target.checked is None:
            try:
                target.checked = netguard.check_url(
                    target.url, allow_http=cfg.allow_http, allowed_hosts=cfg.allowed_hosts
                )
            except netguard.UnresolvableHostError as exc:
                return AttemptResult(False, str(exc))
            except netguard.UnsafeURLError as exc:
                return AttemptResult(False, f"Webhook URL refused: {exc}", permanent=True)
        # Signed at send time: the timestamp is the attempt's, the id the notification's.
        headers = signing.build_headers(row.public_id, int(time.time()), body, target.secrets)
        result = post_webhook(
            target.checked,
            body,
            headers,
            timeout=cfg.webhook_timeout,
            ca_bundle=cfg.ca_bundle,
            pools=ctx.pools,
        )
        if result.ok:
            return AttemptResult(True, status_code=result.status_code)
        return AttemptResult(
            False,
            result.error,
            status_code=result.status_code,
            retry_after=result.retry_after,
            disable=WEBHOOK_GONE if result.gone else None,
        )

    def after_attempt(
        self, lane: Lane, row: Row, result: AttemptResult, final: bool, ctx: SendContext
    ) -> bool:
        if row.failure is not None or not isinstance(row.message, tuple):
            return False
        target: Target | None = (lane.target or {}).get(row.message[0])
        if target is None:
            return False
        if result.ok:
            target.failures = 0
            return False
        if final:
            target.failures += 1
            # The endpoint is disabled when this is recorded; the rest fails then.
            return target.failures >= ctx.cfg.endpoint_max_failures
        return False

    def record(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        cfg = settings.load()
        hooks = _endpoints(notifications)
        for lane in lanes:
            for result in lane.results:
                endpoint = hooks.get(notifications[result.row.id].endpoint_id)
                if endpoint is None:
                    continue
                at = result.at or now
                if result.status == Status.SENT:
                    endpoint.consecutive_failures = 0
                    endpoint.last_success_at = at
                elif result.status == Status.FAILED and endpoint.enabled and result.row.blame:
                    attempt = result.attempt
                    if attempt is not None and attempt.disable:
                        endpoints.disable(endpoint, attempt.disable, at)
                        continue
                    endpoint.consecutive_failures += 1
                    if endpoint.consecutive_failures >= cfg.endpoint_max_failures:
                        error = attempt.error if attempt else None
                        endpoints.disable(
                            endpoint,
                            WEBHOOK_FAILING
                            % {
                                "count": endpoint.consecutive_failures,
                                "error": error or "unknown error",
                            },
                            at,
                        )
