"""The password-reset email."""

from __future__ import annotations

import logging

from flask import current_app, render_template, url_for
from flask_mail import Message

from webapp.accounts import make_reset_token
from webapp.extensions import mail
from webapp.models import User

logger = logging.getLogger(__name__)


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or refused the message."""


def send_password_reset_email(user: User) -> None:
    token = make_reset_token(user)
    link = current_app.config["BASE_URL"] + url_for("auth.reset_password", token=token)
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
    msg = Message(
        subject="Reset your Tradebots password",
        recipients=[user.email],
        body=render_template("email/reset_password.txt", user=user, link=link, minutes=minutes),
        html=render_template("email/reset_password.html", user=user, link=link, minutes=minutes),
    )
    try:
        mail.send(msg)
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        logger.error("password reset email to user %s failed: %s", user.id, type(exc).__name__)
        raise MailDeliveryError("The email could not be sent.") from None
    logger.info("password reset email sent to user %s", user.id)
