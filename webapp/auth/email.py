"""The password-reset email, in the account's language (else the browser's, else English)."""

from __future__ import annotations

import logging

from flask import current_app, render_template, url_for
from flask_babel import get_locale

from webapp.accounts import make_reset_token
from webapp.extensions import mail
from webapp.i18n.current import gettext as _
from webapp.i18n.timezones import as_recipient
from webapp.mail_message import Message
from webapp.models import User

logger = logging.getLogger(__name__)


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or refused the message."""


def send_password_reset_email(user: User) -> None:
    token = make_reset_token(user)
    link = current_app.config["BASE_URL"] + url_for("auth.reset_password", token=token)
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
    with as_recipient(user):
        context = {
            "user": user,
            "link": link,
            "minutes": minutes,
            "subject": _("Reset your Tradebots password"),
            "lang": str(get_locale() or "en"),
        }
        msg = Message(
            subject=context["subject"],
            recipients=[user.email],
            body=render_template("email/reset_password.txt", **context),
            html=render_template("email/reset_password.html", **context),
        )
    try:
        mail.send(msg)
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        logger.error("password reset email to user %s failed: %s", user.id, type(exc).__name__)
        raise MailDeliveryError("The email could not be sent.") from None
    logger.info("password reset email sent to user %s", user.id)
