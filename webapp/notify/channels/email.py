"""Email: a text and an HTML body, in the recipient's language, sent over SMTP.

The words of each kind come from `webapp.notify.email_text`; the two layouts in
`templates/email/events/` place them with the details table, the button and the footer."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import render_template
from flask_babel import get_locale

from webapp.extensions import mail
from webapp.i18n.timezones import as_recipient
from webapp.mail_message import Message
from webapp.models import Notification, NotificationChannel, User
from webapp.notify import email_text, kinds, render, settings
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
from webapp.templating import format_datetime

logger = logging.getLogger(__name__)

LAYOUT = "email/events/_layout"


def build_email(notification: Notification, user: User, cfg: NotifySettings) -> Message:
    """The email in the current language (the caller renders `as_recipient(user)`)."""
    kind, data = notification.event_type, dict(notification.payload or {})
    settings_link = cfg.base_url + render.SETTINGS_PATH
    context = {
        "lang": str(get_locale() or "en"),
        "label": kinds.label(kind),
        "details": render.details(data),
        "fact": render.fact,
        "link": render.link_for(data, cfg.base_url),
        "sent_at": format_datetime(notification.created_at),
    }
    bodies = {
        ext: render_template(
            f"{LAYOUT}.{ext}",
            words=email_text.compose(kind, data, html=ext == "html", settings_link=settings_link),
            **context,
        )
        for ext in ("txt", "html")
    }
    return Message(
        subject=render.subject_for(kind, data),
        recipients=[user.email],
        body=bodies["txt"],
        html=bodies["html"],
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
