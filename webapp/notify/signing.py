"""Standard Webhooks signatures (https://www.standardwebhooks.com/, spec version 1.0.0).

We follow the symmetric scheme so that receivers can verify our webhooks with any Standard
Webhooks library instead of code written for us:

* a secret is ``whsec_`` + base64 of 24-64 random bytes; the HMAC key is the decoded bytes;
* the signed content is ``{msg_id}.{timestamp}.{body}`` (body as the exact bytes sent);
* ``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>`` so that during
  a secret rotation we can sign with the new and the old secret and the receiver accepts either.

Receivers (and our tests) verify with :func:`verify`::

    from webapp.notify.signing import verify, WebhookVerificationError

    try:
        verify(secret, request.headers, request.get_data())
    except WebhookVerificationError:
        abort(400)

Nothing here ever puts a secret or a signature into an exception message or a log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
DEFAULT_SECRET_BYTES = 32
DEFAULT_TOLERANCE = 300
USER_AGENT = "TradingBot-Webhooks/1.0"

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class SigningError(Exception):
    """Base class for everything this module raises."""


class InvalidSecretError(SigningError, ValueError):
    """A secret is not ``whsec_`` + base64 (the message never contains the secret)."""


class WebhookVerificationError(SigningError):
    """A received webhook is missing headers, is outside the time tolerance or is not signed by
    the secret. Receivers should answer 400 and not process the payload."""


def generate_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> str:
    """Return a new random ``whsec_`` secret of ``nbytes`` (24-64) random bytes."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(f"secret length must be {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def new_message_id() -> str:
    """Return a unique ``msg_...`` id; it has no ``.`` as the spec requires (the id is part of
    the dot-delimited signed content). Reuse the same id for every retry of one notification:
    receivers use it to ignore duplicates."""
    return "msg_" + _secrets.token_urlsafe(18)


def secret_key(secret: str) -> bytes:
    """Decode a ``whsec_`` secret (the prefix is optional, as in the reference libraries) into
    the HMAC key bytes."""
    if not isinstance(secret, str):
        raise InvalidSecretError("webhook secret must be a string")
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    # Tolerate missing base64 padding like the reference implementation does.
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecretError("webhook secret is not valid base64 after 'whsec_'") from None
    if not key:
        raise InvalidSecretError("webhook secret is empty")
    return key


def _signed_content(msg_id: str, timestamp: int, body: bytes | str) -> bytes:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return f"{msg_id}.{timestamp}.".encode() + bytes(body)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes | str) -> bytes:
    return hmac.new(key, _signed_content(msg_id, timestamp, body), hashlib.sha256).digest()


def _check_metadata(msg_id: str, timestamp: int) -> None:
    if not msg_id or "." in msg_id or any(c.isspace() for c in msg_id):
        raise ValueError("message id must be non-empty and contain no '.' or whitespace")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError("timestamp must be an int (seconds since the epoch)")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return ``v1,<base64 HMAC-SHA256>`` of ``{msg_id}.{timestamp}.{body}`` keyed with the
    decoded secret. ``body`` must be the exact bytes that will be sent."""
    _check_metadata(msg_id, timestamp)
    digest = _digest(secret_key(secret), msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value: one signature per secret, space-separated.

    Pass ``[current, previous]`` while a rotation's grace period runs so receivers that still
    hold the previous secret keep accepting our webhooks."""
    signatures: list[str] = []
    for secret in secrets:
        signature = sign(secret, msg_id, timestamp, body)
        if signature not in signatures:
            signatures.append(signature)
    if not signatures:
        raise ValueError("at least one secret is required to sign a webhook")
    return " ".join(signatures)


def build_headers(
    msg_id: str,
    timestamp: int,
    body: bytes,
    secrets: Iterable[str],
    *,
    user_agent: str = USER_AGENT,
) -> dict[str, str]:
    """Return the HTTP headers of one delivery attempt of a JSON webhook.

    ``timestamp`` is the time of the attempt (a retry gets a new one and a new signature) while
    ``msg_id`` stays the same for all attempts of one notification."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": user_agent,
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    # Works for plain dicts of any case and for case-insensitive mappings (werkzeug Headers).
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip() if isinstance(value, str) else ""
    return ""


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check that a received webhook was signed with ``secret`` within ``tolerance`` seconds.

    ``body`` must be the raw request body (not re-serialised JSON). Raises
    :class:`WebhookVerificationError` otherwise; signatures are compared in constant time and
    any one matching ``v1`` signature in the header is enough.
    """
    key = secret_key(secret)
    msg_id = _header(headers, HEADER_ID)
    raw_timestamp = _header(headers, HEADER_TIMESTAMP)
    raw_signatures = _header(headers, HEADER_SIGNATURE)
    for name, value in (
        (HEADER_ID, msg_id),
        (HEADER_TIMESTAMP, raw_timestamp),
        (HEADER_SIGNATURE, raw_signatures),
    ):
        if not value:
            raise WebhookVerificationError(f"missing {name} header")

    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("invalid webhook-timestamp header") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("webhook timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("webhook timestamp is too far in the future")

    expected = _digest(key, msg_id, timestamp, body)
    for versioned in raw_signatures.split():
        version, _, encoded = versioned.partition(",")
        if version != SIGNATURE_VERSION or not encoded:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, candidate):
            return
    raise WebhookVerificationError("no matching webhook signature")
