"""Which time zone a page or a message shows its times in: the user's (the setting kept with
quiet hours), else UTC. Flask-Babel asks `select_timezone`; messages rendered for someone other
than the signed-in user (notifications, the Telegram bot) use `as_recipient`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import g, has_app_context, has_request_context
from flask_babel import force_locale, get_locale, refresh
from flask_login import current_user

from webapp.extensions import db
from webapp.i18n.locales import DEFAULT_LOCALE, LOCALES

UTC_NAME = "UTC"
_OVERRIDE = "_recipient_timezone"
_SIGNED_IN = "_user_timezone"


def valid_timezone(name: str | None) -> str:
    """`name` when it is an IANA zone this machine knows, else UTC."""
    if not name:
        return UTC_NAME
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory of zones
        return UTC_NAME
    return name


def user_timezone(user_id: int) -> str:
    from webapp.models import QuietHours

    name = db.session.scalar(sa.select(QuietHours.timezone).where(QuietHours.user_id == user_id))
    return valid_timezone(name)


def select_timezone() -> str:
    """Flask-Babel's time zone selector: a recipient's while rendering for one, else the
    signed-in user's (read with their session, else looked up once per request), else UTC."""
    if has_app_context() and getattr(g, _OVERRIDE, None):
        return getattr(g, _OVERRIDE)
    if not has_request_context() or not current_user.is_authenticated:
        return UTC_NAME
    if _SIGNED_IN not in g:
        setattr(g, _SIGNED_IN, user_timezone(current_user.id))
    return getattr(g, _SIGNED_IN)


def keep_signed_in_timezone(name: str | None) -> None:
    """The signed-in user's zone setting as their session's query read it (no quiet-hours
    row: None), so the request's times need no query of their own."""
    setattr(g, _SIGNED_IN, valid_timezone(name))


def forget_signed_in_timezone() -> None:
    """After the user changed their zone: this request's later times read the new one."""
    g.pop(_SIGNED_IN, None)
    refresh()


def _own_request(user) -> bool:
    if not has_request_context():
        return False
    return not current_user.is_authenticated or current_user.id == user.id


@contextlib.contextmanager
def as_recipient(user, zone: str | None = None) -> Iterator[None]:
    """Render in `user`'s language and time zone, whoever caused the message (a job has no
    request; a command may come from another user's request). A user who never chose a
    language reads the browser's when the request is their own (a password reset asked for
    while signed out), else English. `zone`, when
    the caller already holds the user's time zone setting, saves looking it up."""
    locale = getattr(user, "locale", None)
    if locale not in LOCALES:
        locale = str(get_locale() or DEFAULT_LOCALE) if _own_request(user) else DEFAULT_LOCALE
    previous = getattr(g, _OVERRIDE, None)
    setattr(g, _OVERRIDE, valid_timezone(zone) if zone else user_timezone(user.id))
    refresh()
    try:
        with force_locale(locale):
            yield
    finally:
        setattr(g, _OVERRIDE, previous)
        refresh()
