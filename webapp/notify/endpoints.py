"""A user's webhook endpoints: each one's URL, events, signing secret and health.

A user may have several (up to `MAX_ENDPOINTS`), each subscribed to its own event types and
enabled or disabled on its own, as Svix and Stripe let their users do.

The secret is generated here, shown to the user exactly once (the caller gets it back from
`create_endpoint` / `rotate_secret`), and stored encrypted. A rotation keeps the previous
secret signing alongside the new one for `ROTATION_OVERLAP`, so receivers can switch over
without rejecting anything.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp import crypto
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.i18n.marks import N_
from webapp.models import WebhookEndpoint
from webapp.models.types import utcnow
from webapp.notify import kinds, netguard, outbox, settings, signing
from webapp.notify.errors import EndpointError

logger = logging.getLogger(__name__)

ROTATION_OVERLAP = timedelta(hours=24)
MASKED_SECRET = signing.SECRET_PREFIX + "••••"
MAX_URL_LENGTH = 2048
MAX_ENDPOINTS = 10


#: Messages in English, as the API answers them; pages get them in the reader's language
#: (raised with `_()`, which a request of the API answers in English).
ALREADY_HAVE_ENDPOINT = N_("You already have a webhook endpoint with this URL.")
TOO_MANY_TEXT = N_("You can have at most %(max)s webhook endpoints; delete one first.")
TOO_MANY = TOO_MANY_TEXT % {"max": MAX_ENDPOINTS}
NO_EVENTS = N_("Choose at least one event for this endpoint.")
NO_ENDPOINT_TO_CHOOSE = N_("Add a webhook endpoint first.")


def check_url(url: str) -> netguard.Target:
    """Validate a webhook URL against the operator's settings (raises UnsafeURLError)."""
    cfg = settings.load()
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL_LENGTH:
        raise netguard.InvalidURLError(
            N_("Webhook URL is longer than %(max)s characters"), max=str(MAX_URL_LENGTH)
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in url):
        raise netguard.InvalidURLError(N_("Webhook URL must not contain control characters"))
    return netguard.check_url(url, allow_http=cfg.allow_http, allowed_hosts=cfg.allowed_hosts)


#: Ids are checked before they reach the database: PostgreSQL refuses an integer out of its
#: range with an error, which would be a 500.
MAX_ID = 2**31 - 1


#: While a page reads (see `reading`): user id -> their endpoints.
_READ: contextvars.ContextVar[dict[int, list[WebhookEndpoint]] | None] = contextvars.ContextVar(
    "endpoints_read", default=None
)


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Within, `endpoints_of` reads each user's endpoints once: a notification page asks
    for them from several places (what each channel can do, the matrix's webhook column, the
    list itself) and changes nothing while it renders."""
    token = _READ.set({})
    try:
        yield
    finally:
        _READ.reset(token)


def endpoints_of(user_id: int) -> list[WebhookEndpoint]:
    """The user's endpoints, oldest first (shared within `reading`: do not change the list)."""
    read = _READ.get()
    if read is not None and user_id in read:
        return read[user_id]
    found = list(
        db.session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == user_id)
            .order_by(WebhookEndpoint.id)
        )
    )
    if read is not None:
        read[user_id] = found
    return found


def endpoint_for(user_id: int) -> WebhookEndpoint | None:
    """The user's first endpoint (what the single-endpoint API and pages used to show)."""
    found = endpoints_of(user_id)
    return found[0] if found else None


def check_events(events) -> list[str]:
    """The event types, validated and in a stable order (raises EndpointError)."""
    chosen = sorted({str(event) for event in events or ()})
    unknown = [event for event in chosen if event not in {e.value for e in kinds.EventType}]
    if unknown:
        raise EndpointError(_("Unknown event type: %(event)s.", event=repr(unknown[0][:40])))
    if not chosen:
        raise EndpointError(_(NO_EVENTS))
    return chosen


def subscribed(user_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The user's enabled endpoints that want this event type."""
    return [e for e in endpoints_of(user_id) if e.enabled and event_type in (e.events or [])]


def set_event(user_id: int, event_type: str, on: bool) -> None:
    """Turn one event on or off for every endpoint of the user (the webhook column of the
    preferences, as it worked with one endpoint)."""
    for endpoint in endpoints_of(user_id):
        events = set(endpoint.events or [])
        events = events | {event_type} if on else events - {event_type}
        if events != set(endpoint.events or []):
            endpoint.events = sorted(events)
            endpoint.updated_at = utcnow()


def _check_unique(user_id: int, url: str, endpoint_id: int | None = None) -> None:
    for other in endpoints_of(user_id):
        if other.url == url and other.id != endpoint_id:
            raise EndpointError(_(ALREADY_HAVE_ENDPOINT))


def endpoint_of(user_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    """The user's endpoint with this id; None for another user's (never "not yours")."""
    if not 0 < endpoint_id <= MAX_ID:
        return None
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.user_id != user_id:
        return None
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint (the caller commits): no webhook goes out from then on."""
    db.session.delete(endpoint)
    logger.info("user %s deleted the webhook endpoint", endpoint.user_id)


def create_endpoint(user_id: int, url: str, events=None) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint after checking the URL and events; returns it with its new secret.

    `events` None subscribes it to nothing yet (the preferences' webhook column then turns
    events on, as it did with a single endpoint); an empty collection is refused.
    """
    url = url.strip()
    check_url(url)
    chosen = [] if events is None else check_events(events)
    if len(endpoints_of(user_id)) >= MAX_ENDPOINTS:
        raise EndpointError(_(TOO_MANY_TEXT, max=MAX_ENDPOINTS))
    _check_unique(user_id, url)
    secret = signing.generate_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        user_id=user_id,
        url=url,
        events=chosen,
        secret_encrypted=crypto.encrypt(secret),
        enabled=True,
        consecutive_failures=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(endpoint)
    logger.info("user %s added a webhook endpoint", user_id)
    return endpoint, secret


def update_events(endpoint: WebhookEndpoint, events) -> None:
    chosen = check_events(events)
    if chosen != list(endpoint.events or []):
        endpoint.events = chosen
        endpoint.updated_at = utcnow()
        logger.info("user %s changed webhook endpoint %s's events", endpoint.user_id, endpoint.id)


def update_url(endpoint: WebhookEndpoint, url: str) -> None:
    url = url.strip()
    check_url(url)
    _check_unique(endpoint.user_id, url, endpoint.id)
    if url != endpoint.url:
        endpoint.url = url
        endpoint.updated_at = utcnow()
        logger.info("user %s changed the webhook URL", endpoint.user_id)


def rotate_secret(endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """Replace the secret; the old one keeps signing for 24 hours. Returns the new secret."""
    now = now or utcnow()
    secret = signing.generate_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = crypto.encrypt(secret)
    endpoint.secret_rotated_at = now
    endpoint.updated_at = now
    logger.info("user %s rotated the webhook secret", endpoint.user_id)
    return secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The secrets to sign with now: the current one, plus the previous during the overlap."""
    now = now or utcnow()
    secrets = [crypto.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return secrets


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime | None = None) -> None:
    """Stop delivering to the endpoint and tell its owner by email (an outbox row)."""
    if not endpoint.enabled:
        return
    now = now or utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = now
    endpoint.updated_at = now
    logger.warning(
        "webhook endpoint %s of user %s disabled: %s", endpoint.id, endpoint.user_id, reason
    )
    outbox.record_system_notice(
        endpoint.user_id, kinds.WEBHOOK_DISABLED, {"reason": reason, "url": "/notifications/"}
    )


def enable(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    endpoint.updated_at = utcnow()
    logger.info("user %s re-enabled the webhook endpoint", endpoint.user_id)


def turn_off(endpoint: WebhookEndpoint) -> None:
    """The user pauses the endpoint (no email about it: they did it themselves)."""
    if not endpoint.enabled:
        return
    now = utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = "Turned off by you."
    endpoint.disabled_at = now
    endpoint.updated_at = now
    logger.info("user %s turned off webhook endpoint %s", endpoint.user_id, endpoint.id)


def reencrypt_all() -> int:
    """Re-encrypt every stored webhook secret with the newest ENCRYPTION_KEY (for key
    rotation); returns how many endpoints were rewritten. The caller commits."""
    count = 0
    for endpoint in db.session.scalars(sa.select(WebhookEndpoint)):
        endpoint.secret_encrypted = crypto.rotate(endpoint.secret_encrypted)
        if endpoint.previous_secret_encrypted:
            endpoint.previous_secret_encrypted = crypto.rotate(endpoint.previous_secret_encrypted)
        count += 1
    return count
