"""A user's webhook endpoint: its URL, its signing secret and its health.

The secret is generated here, shown to the user exactly once (the caller gets it back from
`create_endpoint` / `rotate_secret`), and stored encrypted. A rotation keeps the previous
secret signing alongside the new one for `ROTATION_OVERLAP`, so receivers can switch over
without rejecting anything.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp import crypto
from webapp.extensions import db
from webapp.models import WebhookEndpoint
from webapp.models.types import utcnow
from webapp.notify import kinds, netguard, settings, signing
from webapp.notify.errors import EndpointError

logger = logging.getLogger(__name__)

ROTATION_OVERLAP = timedelta(hours=24)
MASKED_SECRET = signing.SECRET_PREFIX + "••••"
MAX_URL_LENGTH = 2048
ALREADY_HAVE_ENDPOINT = "You already have a webhook endpoint; change its URL instead."


def check_url(url: str) -> netguard.Target:
    """Validate a webhook URL against the operator's settings (raises UnsafeURLError)."""
    cfg = settings.load()
    if len(url) > MAX_URL_LENGTH:
        raise netguard.InvalidURLError(f"Webhook URL is longer than {MAX_URL_LENGTH} characters")
    return netguard.check_url(url, allow_http=cfg.allow_http, allowed_hosts=cfg.allowed_hosts)


def endpoint_for(user_id: int) -> WebhookEndpoint | None:
    return db.session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id))


def create_endpoint(user_id: int, url: str) -> tuple[WebhookEndpoint, str]:
    """Add the user's endpoint after checking the URL; returns it with its new secret."""
    if endpoint_for(user_id) is not None:
        raise EndpointError(ALREADY_HAVE_ENDPOINT)
    url = url.strip()
    check_url(url)
    secret = signing.generate_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        user_id=user_id,
        url=url,
        secret_encrypted=crypto.encrypt(secret),
        enabled=True,
        consecutive_failures=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(endpoint)
    logger.info("user %s added a webhook endpoint", user_id)
    return endpoint, secret


def update_url(endpoint: WebhookEndpoint, url: str) -> None:
    url = url.strip()
    check_url(url)
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
    from webapp.notify import outbox

    outbox.record_system_email(
        endpoint.user_id, kinds.WEBHOOK_DISABLED, {"reason": reason, "url": "/notifications/"}
    )


def enable(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    endpoint.updated_at = utcnow()
    logger.info("user %s re-enabled the webhook endpoint", endpoint.user_id)


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
