"""Bearer-token authentication and scopes for /api/v1.

The API never reads the cookie session (so it needs no CSRF token), and a token never signs
in to a page: Flask-Login knows nothing of tokens. Every request looks its token up again, so
a revoked or expired token, or one whose user was deleted, is refused at once.
"""

from __future__ import annotations

import logging

from flask import g, request
from sqlalchemy.exc import SQLAlchemyError

from webapp.api.problems import ApiError
from webapp.extensions import db
from webapp.models import ApiToken, TokenScope, User
from webapp.tokens import service as tokens

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(detail: str, error: str | None = "invalid_token") -> ApiError:
    challenge = 'Bearer realm="api"' + (f', error="{error}"' if error else "")
    return ApiError(401, detail, code="invalid_token" if error else "unauthorized",
                    headers={"WWW-Authenticate": challenge})  # fmt: skip


def required_scope(method: str) -> TokenScope:
    return TokenScope.READ if method.upper() in READ_METHODS else TokenScope.TRADE


def authenticate() -> ApiToken:
    """Check the request's bearer token and its scope; sets g.api_token and g.api_user."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if not header:
        raise _unauthorized("Send an API token: Authorization: Bearer tb_...", error=None)
    if scheme.lower() != "bearer" or not credentials.strip():
        raise _unauthorized("Use the Bearer scheme: Authorization: Bearer tb_...")
    row = tokens.authenticate(credentials.strip())
    if row is None:
        raise _unauthorized("This token is unknown, revoked or expired.")
    try:
        if tokens.record_use(row, request.remote_addr):
            db.session.commit()
    except SQLAlchemyError as exc:  # a busy database must not refuse a valid token
        db.session.rollback()
        logger.warning("could not record the use of api token %s: %s", row.id, type(exc).__name__)
    scope = required_scope(request.method)
    if not row.has_scope(scope):
        raise ApiError(
            403,
            f"This token lacks the “{scope.value}” scope needed for {request.method} requests.",
            code="insufficient_scope",
            headers={
                "WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope", '
                f'scope="{scope.value}"'
            },
        )
    g.api_token = row
    g.api_user = row.user
    return row


def current_token() -> ApiToken:
    return g.api_token


def current_user() -> User:
    return g.api_user
