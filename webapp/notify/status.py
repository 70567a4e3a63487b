"""Figures and connection checks for the operations page."""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db
from webapp.health import CheckResult, check_database, check_redis
from webapp.i18n.current import gettext as _
from webapp.i18n.current import lazy_gettext as _l
from webapp.i18n.numbers import integer_text
from webapp.models import Notification, NotificationChannel, NotificationStatus
from webapp.notify import kinds, settings

logger = logging.getLogger(__name__)

#: How the pages name a notification's state and channel (the API and the database keep the
#: values: `pending`, `email`).
STATUS_LABELS = {
    NotificationStatus.PENDING: _l("Pending"),
    NotificationStatus.SENT: _l("Sent"),
    NotificationStatus.FAILED: _l("Failed"),
    NotificationStatus.RATE_LIMITED: _l("Rate limited"),
}
CHANNEL_LABELS = {
    NotificationChannel.EMAIL: _l("Email"),
    NotificationChannel.WEBHOOK: _l("Webhook"),
    NotificationChannel.TELEGRAM: _l("Telegram"),
    NotificationChannel.SMS: _l("SMS"),
}


def status_label(value: str) -> str:
    """A status (`rate_limited`) as the reader's language names it (`Rate limited`)."""
    try:
        return str(STATUS_LABELS[NotificationStatus(value)])
    except ValueError:
        return value.replace("_", " ").capitalize()


def channel_label(value: str) -> str:
    """A channel (`email`) as the reader's language names it (`Email`, `E-posta`)."""
    try:
        return str(CHANNEL_LABELS[NotificationChannel(value)])
    except ValueError:
        return value.capitalize()


@dataclass(frozen=True)
class Counts:
    by_status: dict[str, int]
    by_channel: dict[str, dict[str, int]]  # channel -> status -> count
    by_type: dict[str, dict[str, int]]  # event type -> status -> count
    total: int

    @property
    def success_rate(self) -> float | None:
        """Sent among finished (sent or failed) notifications, or None before any finished."""
        sent = self.by_status.get(NotificationStatus.SENT.value, 0)
        failed = self.by_status.get(NotificationStatus.FAILED.value, 0)
        return sent / (sent + failed) if sent + failed else None


def counts(user_id: int | None = None) -> Counts:
    """Notifications by status, channel and type: everyone's, or one user's."""
    query = sa.select(
        Notification.channel, Notification.event_type, Notification.status, sa.func.count()
    ).group_by(Notification.channel, Notification.event_type, Notification.status)
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    rows = db.session.execute(query).all()
    by_status = {status.value: 0 for status in NotificationStatus}
    by_channel: dict[str, dict[str, int]] = {}
    by_type: dict[str, dict[str, int]] = {}
    total = 0
    for channel, kind, status, count in rows:
        by_status[status.value] += count
        channel_counts = by_channel.setdefault(channel.value, dict.fromkeys(by_status, 0))
        channel_counts[status.value] += count
        type_counts = by_type.setdefault(kinds.label(kind), dict.fromkeys(by_status, 0))
        type_counts[status.value] += count
        total += count
    return Counts(by_status, by_channel, dict(sorted(by_type.items())), total)


def check_smtp() -> CheckResult:
    """Connect to the configured SMTP server, say EHLO (and STARTTLS/login if configured), NOOP."""
    cfg = current_app.config
    start = time.perf_counter()
    host, port = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"])
    timeout = float(cfg.get("MAIL_TIMEOUT") or 10)
    smtp_class = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
    try:
        with smtp_class(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
                smtp.ehlo()
            if cfg.get("MAIL_USERNAME") and cfg.get("MAIL_PASSWORD"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            code, _reply = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"NOOP refused")
    except (OSError, smtplib.SMTPException) as exc:
        # The class name and the server's own reply; never the credentials.
        detail = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        logger.warning("SMTP check of %s:%s failed: %s", host, port, detail)
        return CheckResult(False, (time.perf_counter() - start) * 1000, detail)
    return CheckResult(True, (time.perf_counter() - start) * 1000)


def app_config_summary() -> dict[str, object]:
    """The delivery settings in force, for the admin page (no secrets among them), named and
    written in the reader's language."""
    from webapp.i18n.numbers import quantity_text

    cfg = settings.load()
    delays = [quantity_text(Decimal(f"{d:g}")) for d in cfg.retry_delays]
    return {
        _("Attempts"): integer_text(cfg.max_attempts),
        _("Retry delays (s)"): ", ".join(delays) or _("none"),
        _("Per-user hourly limit"): integer_text(cfg.user_hourly_limit),
        _("Per-user daily limit"): integer_text(cfg.user_daily_limit),
        _("Global per-minute limit"): integer_text(cfg.global_per_minute),
        _("Keep sent (days)"): integer_text(cfg.keep_sent_days),
        _("Keep failed (days)"): integer_text(cfg.keep_failed_days),
        _("HTTP webhooks allowed"): _("yes") if cfg.allow_http else _("no"),
        _("Webhook allow-list"): ", ".join(cfg.allowed_hosts) or _("none"),
    }


def check_telegram() -> CheckResult:
    """getMe with the installation's bot token (the error never holds the token)."""
    from webapp.telegram import bot
    from webapp.telegram.api import TelegramError

    start = time.perf_counter()
    client = bot.api()
    if client is None:
        return CheckResult(
            False, 0.0, _("No Telegram bot token is set (flask telegram set-token).")
        )
    try:
        me = client.get_me()
    except TelegramError as exc:
        return CheckResult(False, (time.perf_counter() - start) * 1000, str(exc))
    elapsed = (time.perf_counter() - start) * 1000
    return CheckResult(True, elapsed, f"@{me.get('username')}" if isinstance(me, dict) else None)


def check_sms() -> CheckResult:
    """The SMS provider: the console always works; Twilio must accept the account's SID and
    token (the error never holds the token)."""
    from webapp.notify import sms_providers

    start = time.perf_counter()
    try:
        detail = sms_providers.provider().check()
    except (sms_providers.ProviderNotConfigured, ValueError) as exc:
        return CheckResult(False, (time.perf_counter() - start) * 1000, str(exc))
    return CheckResult(True, (time.perf_counter() - start) * 1000, detail)


CHECKS = {
    "smtp": ("SMTP", check_smtp),
    "telegram": ("Telegram (getMe)", check_telegram),
    "sms": (_l("SMS provider"), check_sms),
    "redis": ("Redis", check_redis),
    "database": (_l("Database"), check_database),
}
