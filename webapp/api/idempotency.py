"""`Idempotency-Key` for POSTs: a retry with the same key gets the first answer, and the
action happens once.

The first request with a key claims it in Redis (SET NX) before doing anything; its answer
is stored under the key for API_IDEMPOTENCY_TTL (24 h), per user. A second request with the
same key while the first is still running waits for its answer (up to WAIT_SECONDS, then 409),
so two identical requests sent at once still act once. The same key with another method, path
or body is refused (422): it would hide a different action behind an old answer. Answers that
say "try again" (409, 429, 5xx) are not kept, so a retry really retries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass

from flask import Response, current_app, g, request
from redis.exceptions import RedisError

from webapp.api.problems import ApiError

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
PREFIX = "api:idem"
KEY_MAX = 255
#: How long a claim lives if its request never finishes (a killed worker).
PENDING_TTL = 300
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05
NOT_KEPT = frozenset({409, 429})
REPLAYED_HEADERS = ("Content-Type", "Location", "Link")


@dataclass
class Claim:
    redis_key: str
    fingerprint: str


def _conn():
    from webapp.extensions import redis_ext

    return redis_ext.conn


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.full_path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _valid(key: str) -> bool:
    return 0 < len(key) <= KEY_MAX and key.isascii() and key.isprintable()


def begin(user_id: int) -> Response | None:
    """Called before a POST is handled: claims its key, or answers with the stored response
    (or a problem). Without the header nothing happens."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST":
        return None
    if not _valid(key):
        raise ApiError(
            400,
            f"{HEADER} must be 1 to {KEY_MAX} printable ASCII characters (a UUID is ideal).",
            code="invalid_idempotency_key",
        )
    redis_key = f"{PREFIX}:{user_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    fingerprint = _fingerprint()
    pending = json.dumps({"state": "pending", "fp": fingerprint})
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        conn = _conn()
        while True:
            if conn.set(redis_key, pending, nx=True, ex=PENDING_TTL):
                g.idempotency = Claim(redis_key, fingerprint)
                return None
            raw = conn.get(redis_key)
            if raw is None:
                continue  # it expired or was released between the two calls: claim again
            stored = json.loads(raw)
            if stored.get("fp") != fingerprint:
                raise ApiError(
                    422,
                    f"This {HEADER} was already used for a different request; use a new key "
                    "for a new action.",
                    code="idempotency_key_reused",
                )
            if stored.get("state") == "done":
                return _replay(stored)
            if time.monotonic() >= deadline:
                raise ApiError(
                    409,
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                    code="idempotency_in_progress",
                    headers={"Retry-After": "1"},
                )
            time.sleep(POLL_SECONDS)
    except (RedisError, OSError) as exc:
        logger.warning("idempotency store unavailable, Redis: %s", type(exc).__name__)
        raise ApiError(
            503,
            f"Requests with an {HEADER} cannot be handled right now; nothing was done. "
            "Try again shortly.",
            code="service_unavailable",
            headers={"Retry-After": "5"},
        ) from None


def _replay(stored: dict) -> Response:
    response = Response(stored["body"], status=stored["status"])
    for name, value in stored.get("headers", {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    g.idempotency_replayed = True
    return response


def finish(response: Response) -> Response:
    """Called after a claimed request: keep its answer for retries, or release the key."""
    claim: Claim | None = g.pop("idempotency", None)
    if claim is None:
        return response
    try:
        conn = _conn()
        keep = (
            response.status_code < 500
            and response.status_code not in NOT_KEPT
            and not response.is_streamed
        )
        if keep:
            stored = {
                "state": "done",
                "fp": claim.fingerprint,
                "status": response.status_code,
                "body": response.get_data(as_text=True),
                "headers": {
                    h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers
                },
            }
            ttl = int(current_app.config.get("API_IDEMPOTENCY_TTL", 24 * 3600))
            conn.set(claim.redis_key, json.dumps(stored), ex=ttl)
        else:
            conn.delete(claim.redis_key)
    except (RedisError, OSError) as exc:
        logger.warning("idempotent answer not stored, Redis: %s", type(exc).__name__)
    return response
