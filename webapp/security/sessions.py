"""Signed-in sessions: one row per browser, listed on the Sessions page and revocable.

The session id rides in Flask-Login's user id (`<user>:<password fingerprint>:<sid>`), so the
cookie session and the remember-me cookie both name it; every request checks the row, so a
revoked session stays revoked whatever cookie comes back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_login import user_logged_out
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.i18n import timezones
from webapp.i18n.current import gettext as _
from webapp.i18n.marks import N_
from webapp.models import QuietHours, User, UserSession
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)


#: last_seen_at is written at most this often per session.
TOUCH_EVERY = timedelta(seconds=60)


class SessionNotFound(LookupError):
    """No such session of this user (someone else's is "not found" too)."""


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(user: User) -> UserSession:
    """Record a new signed-in session for this request's browser and name it on `user`, so
    the next `login_user` stores its id (the caller commits)."""
    sid = secrets.token_urlsafe(24)
    row = UserSession(
        user_id=user.id,
        token_hash=_hash(sid),
        password_fingerprint=user.password_fingerprint,
        user_agent=(request.headers.get("User-Agent") or "")[:300],
        ip=request.remote_addr,
    )
    db.session.add(row)
    db.session.flush()
    user.session_sid = sid
    return row


#: The largest id the database's integer column holds; a cookie naming more is no one.
_MAX_ID = 2**63 - 1


def resume(user_id: int, fingerprint: str, sid: str) -> User | None:
    """Flask-Login's loader: the user if session `sid` of theirs is still signed in and was
    opened with their current password. One query on every request: user, session and the
    time zone the request's pages show times in."""
    if not sid or not 0 < user_id <= _MAX_ID:
        return None
    found = db.session.execute(
        sa.select(User, UserSession, QuietHours.timezone)
        .join(UserSession, UserSession.user_id == User.id)
        .outerjoin(QuietHours, QuietHours.user_id == User.id)
        .where(User.id == user_id, UserSession.token_hash == _hash(sid))
    ).first()
    if found is None:
        return None
    user, row, zone = found
    if (
        not hmac.compare_digest(fingerprint, user.password_fingerprint)
        or row.revoked_at is not None
        or row.password_fingerprint != user.password_fingerprint
    ):
        return None
    user.session_sid = sid
    if has_request_context():
        g.user_session_id = row.id
        timezones.keep_signed_in_timezone(zone)
    now = utcnow()
    if now - row.last_seen_at >= TOUCH_EVERY:
        _touch(row.id, now, request.remote_addr if has_request_context() else None)
    return user


def _touch(row_id: int, now: datetime, ip: str | None) -> None:
    # On a connection of its own: the request's transaction stays the route's to commit.
    values = {"last_seen_at": now}
    if ip:
        values["ip"] = ip
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.update(UserSession).where(UserSession.id == row_id).values(**values))
    except SQLAlchemyError as exc:
        logger.warning("could not record session activity: %s", type(exc).__name__)


def current_session_id() -> int | None:
    return g.get("user_session_id") if has_request_context() else None


def active_sessions(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.revoked_at.is_(None),
                UserSession.password_fingerprint == user.password_fingerprint,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def revoke(user: User, session_id: int) -> UserSession:
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise SessionNotFound()
    row.revoked_at = utcnow()
    logger.info("session %s of user %s signed out", row.id, user.id)
    return row


def revoke_all(user: User, *, except_id: int | None = None) -> int:
    """Sign out every session of `user` (but `except_id`); returns how many."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if except_id is not None:
        query = query.where(UserSession.id != except_id)
    result = db.session.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount


@user_logged_out.connect
def _revoke_on_logout(sender, user, **extra) -> None:
    """Logging out ends the session's row too: a copy of the cookie is worthless after."""
    row_id = current_session_id()
    if row_id is None:
        return
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == row_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


@dataclass(frozen=True)
class Device:
    browser: str
    os: str

    def __str__(self) -> str:
        """In English: how the audit log stores it (pages translate it when they show it)."""
        return f"{self.browser} on {self.os}" if self.os else self.browser

    def text(self) -> str:
        """In the reader's language."""
        browser = _(self.browser) if self.browser in _NO_NAME else self.browser
        return _("%(browser)s on %(os)s", browser=browser, os=self.os) if self.os else browser


#: What a session without a recognised browser is called (the names themselves are not translated).
_NO_NAME = (N_("Unknown browser"), N_("No browser name"))


_BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|HeadlessChrome/"),
    ("Safari", r"Safari/"),
    ("curl", r"^curl/"),
)
_SYSTEMS = (
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad|iPod"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux|X11"),
)


def describe_user_agent(user_agent: str) -> Device:
    """A short, readable name for a User-Agent header ("Firefox on Linux")."""
    browser = next((name for name, rx in _BROWSERS if re.search(rx, user_agent)), None)
    system = next((name for name, rx in _SYSTEMS if re.search(rx, user_agent)), "")
    return Device(browser or ("Unknown browser" if user_agent else "No browser name"), system)


def cleanup(remember_seconds: int) -> int:
    """Delete session rows that can never be used again: signed out a day ago or more, or
    unseen for longer than a remember-me cookie lives. Returns how many (the caller commits)."""
    now = utcnow()
    result = db.session.execute(
        sa.delete(UserSession)
        .where(
            sa.or_(
                UserSession.revoked_at < now - timedelta(days=1),
                UserSession.last_seen_at < now - timedelta(seconds=remember_seconds),
            )
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
