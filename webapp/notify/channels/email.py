"""Email: a text and an HTML body from the templates of each event, sent over SMTP."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import render_template
from flask_mail import Message
from jinja2 import TemplateNotFound

from webapp.extensions import mail
from webapp.i18n.timezones import as_recipient
from webapp.models import Notification, NotificationChannel, User
from webapp.notify import kinds, render, settings
from webapp.notify.channels.base import (
    AttemptResult,
    Channel,
    Lane,
    Row,
    SendContext,
    by_user,
    internal_error,
)
from webapp.notify.settings import NotifySettings

logger = logging.getLogger(__name__)

TEMPLATE_DIR = "email/events"


def _render(kind: str, ext: str, context: dict[str, Any]) -> str:
    try:
        return render_template(f"{TEMPLATE_DIR}/{kind}.{ext}", **context)
    except TemplateNotFound:
        logger.error("no %s email template for %s; using the generic one", ext, kind)
        return render_template(f"{TEMPLATE_DIR}/_generic.{ext}", **context)


def build_email(notification: Notification, user: User, cfg: NotifySettings) -> Message:
    """The email in the current language (the caller renders `as_recipient(user)`)."""
    data = dict(notification.payload or {})
    context = {
        "kind": notification.event_type,
        "label": kinds.label(notification.event_type),
        "data": data,
        "details": render.details(data),
        "fmt": render.format_value,
        "link": render.link_for(data, cfg.base_url),
        "settings_link": cfg.base_url + render.SETTINGS_PATH,
        "user": user,
        "notification": notification,
        "created_at": notification.created_at,
    }
    return Message(
        subject=render.subject_for(notification.event_type, data),
        recipients=[user.email],
        body=_render(notification.event_type, "txt", context),
        html=_render(notification.event_type, "html", context),
        extra_headers={"X-Tradebots-Notification": notification.public_id},
    )


class EmailChannel(Channel):
    kind = NotificationChannel.EMAIL

    def prepare(
        self, lanes: list[Lane], notifications: dict[int, Notification], now: datetime
    ) -> None:
        cfg = settings.load()
        users = by_user(User, User.id, {lane.user_id for lane in lanes})
        for lane in lanes:
            for row in lane.rows:
                try:
                    user = users[row.user_id]
                    with as_recipient(user, lane.quiet.timezone if lane.quiet else None):
                        row.message = build_email(notifications[row.id], user, cfg)
                except Exception as exc:  # a broken row fails instead of stopping the batch
                    logger.exception("preparing notification %s failed", row.public_id)
                    row.failure = internal_error(exc)
                    row.blame = False

    def send(self, row: Row, lane: Lane, ctx: SendContext) -> AttemptResult:
        try:
            with ctx.app.app_context():
                mail.send(row.message)
        except OSError as exc:  # smtplib.SMTPException is an OSError too
            text = " ".join(str(exc).split())[:200]
            error = f"Email could not be sent: {type(exc).__name__}" + (f": {text}" if text else "")
            return AttemptResult(False, error)
        except Exception as exc:  # a bad message must fail the row, not loop forever
            logger.exception("unexpected error sending an email")
            return AttemptResult(False, f"Email could not be sent: {type(exc).__name__}")
        return AttemptResult(True)
