"""Personal access tokens: make one (shown once), check one, record its use, revoke it.

A token is `tb_` followed by 43 url-safe characters (32 random bytes). Only its SHA-256 hash
is stored, so neither the database nor a backup holds anything that signs in; its first
characters (`prefix`) tell the owner which token is which. The page, the CLI and the API all
go through these functions; none of them commits (the caller owns the transaction).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import ApiToken, TokenScope, User
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "tb_"
TOKEN_BYTES = 32
#: The characters shown after creation: "tb_" and the first 8 random ones.
DISPLAY_CHARS = len(TOKEN_PREFIX) + 8
NAME_MAX = 80
#: Lifetimes the page offers (days); None is "never expires".
EXPIRY_CHOICES: tuple[int | None, ...] = (30, 90, 365, None)
MAX_DAYS = 3650
#: Last use is written at most this often per token (and whenever the address changes), so
#: a busy script does not turn every read into a database write.
LAST_USE_RESOLUTION = timedelta(seconds=60)
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 43


class TokenError(Exception):
    """Base class; `str(error)` is a message for the user."""


class InvalidTokenInput(TokenError, ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TokenNotFound(TokenError, LookupError):
    """No token with this id belongs to this user (a 404, never "not yours")."""

    def __init__(self) -> None:
        super().__init__(_("There is no such token."))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(raw: str | Iterable[str]) -> list[TokenScope]:
    """`"read,trade"` or a list of names -> scopes in a fixed order; InvalidTokenInput if
    empty or unknown."""
    names = raw.split(",") if isinstance(raw, str) else list(raw)
    wanted = {str(name).strip().lower() for name in names if str(name).strip()}
    valid = {scope.value for scope in TokenScope}
    unknown = sorted(wanted - valid)
    if unknown:
        raise InvalidTokenInput(
            "scopes",
            _("Unknown scope %(scope)s: choose read, trade or both.", scope=", ".join(unknown)),
        )
    if not wanted:
        raise InvalidTokenInput("scopes", _("Choose at least one scope: read, trade or both."))
    return [scope for scope in TokenScope if scope.value in wanted]


def create_token(
    user: User,
    name: str,
    scopes: str | Iterable[str],
    days: int | None = None,
    *,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Add a token for `user`; returns it with the token text, which is never seen again.

    `days` is its lifetime (None: it never expires). Raises InvalidTokenInput.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidTokenInput("name", _("Give the token a name, e.g. “Grafana”."))
    if len(name) > NAME_MAX:
        raise InvalidTokenInput("name", _("A name has at most %(max)s characters.", max=NAME_MAX))
    chosen = parse_scopes(scopes)
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidTokenInput(
            "days", _("A token lasts from 1 to %(max)s days, or forever.", max=MAX_DAYS)
        )
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=token[:DISPLAY_CHARS],
        token_hash=hash_token(token),
        scopes=",".join(scope.value for scope in chosen),
        created_at=now,
        expires_at=now + timedelta(days=days) if days is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    logger.info("api token %s (%s) created for user %s", row.id, row.prefix, user.id)
    return row, token


def tokens_for_user(user: User | int) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones included, for the record)."""
    user_id = user if isinstance(user, int) else user.id
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(user: User | int, token_id: int, *, now: datetime | None = None) -> ApiToken:
    """Revoke one of the user's tokens: it stops working with the next request."""
    user_id = user if isinstance(user, int) else user.id
    row = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )
    if row is None:
        raise TokenNotFound()
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        logger.info("api token %s (%s) of user %s revoked", row.id, row.prefix, user_id)
    return row


def authenticate(token: str, *, now: datetime | None = None) -> ApiToken | None:
    """The active token for this text, with its user loaded; None if unknown, revoked or
    expired (or its user is gone: tokens are deleted with their user)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) != _TOKEN_LENGTH or not token.isascii():
        return None
    row = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == hash_token(token))
        .options(sa.orm.joinedload(ApiToken.user))
    )
    if row is None or not row.is_active(now):
        return None
    return row


def record_use(row: ApiToken, ip: str | None, *, now: datetime | None = None) -> bool:
    """Note when and from where the token was last used (at most once a minute unless the
    address changes); returns whether anything was written. The caller commits."""
    now = now or utcnow()
    ip = (ip or "")[:45] or None
    if (
        row.last_used_at is not None
        and now - row.last_used_at < LAST_USE_RESOLUTION
        and row.last_used_ip == ip
    ):
        return False
    row.last_used_at = now
    row.last_used_ip = ip
    return True
