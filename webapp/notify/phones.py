"""A user's phone number for SMS: parsed into E.164, used only after the 6-digit code sent to
it is typed back (valid 10 minutes, 5 tries, a new one at most every minute). Changing the
number asks again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

import phonenumbers

from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.i18n.current import ngettext
from webapp.i18n.marks import N_
from webapp.models import SmsNumber
from webapp.models.types import utcnow
from webapp.notify import gsm7, sms_providers
from webapp.notify.errors import NotifyError

logger = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
MAX_INPUT = 40


class PhoneError(NotifyError):
    """A number or code that cannot be accepted; the message says why (nothing was saved)."""


def parse(text: str) -> str:
    """The number in E.164 (+4915123456789), or PhoneError."""
    text = (text or "").strip()
    if not text or len(text) > MAX_INPUT:
        raise PhoneError(_(BAD_NUMBER))
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise PhoneError(_(BAD_NUMBER)) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_(BAD_NUMBER))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


BAD_NUMBER = N_(
    "That is not a phone number we can text. Write it with the country code, e.g. +49 151 23456789."
)


def display(e164: str) -> str:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def number_of(user_id: int) -> SmsNumber | None:
    return db.session.get(SmsNumber, user_id)


def usable_number(user_id: int) -> str | None:
    row = number_of(user_id)
    return row.phone if row is not None and row.usable else None


def set_number(user_id: int, text: str, now: datetime | None = None) -> SmsNumber:
    """Save a new (unverified) number and text it a code; the caller commits. Raises
    PhoneError, before anything is written, for a number that does not parse."""
    phone = parse(text)
    now = now or utcnow()
    row = number_of(user_id)
    if row is None:
        row = SmsNumber(user_id=user_id, phone=phone, code_attempts=0)
        db.session.add(row)
    row.phone = phone
    row.verified_at = None
    row.disabled_reason = None
    row.code_sent_at = None
    send_code(row, now)
    return row


def send_code(row: SmsNumber, now: datetime | None = None) -> None:
    """Text a fresh code to the number (at most one a minute); the caller commits."""
    now = now or utcnow()
    if row.code_sent_at is not None and now - row.code_sent_at < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - row.code_sent_at)).total_seconds()) + 1
        raise PhoneError(
            _(
                "A code was sent a moment ago; you can ask for another in %(seconds)s s.",
                seconds=wait,
            )
        )
    code = f"{secrets.randbelow(10**6):06d}"
    try:
        result = sms_providers.provider().send(
            row.phone,
            gsm7.plain(_("Your Tradebots code is %(code)s. It works for 10 minutes.", code=code)),
        )
    except sms_providers.ProviderNotConfigured as exc:
        raise PhoneError(
            _("SMS cannot be sent from this installation: %(reason)s", reason=exc)
        ) from None
    if not result.ok:
        raise PhoneError(_("The code could not be sent: %(reason)s", reason=result.error))
    row.code_hash = _hash(code)
    row.code_expires_at = now + CODE_TTL
    row.code_attempts = 0
    row.code_sent_at = now
    row.updated_at = now
    logger.info("verification code sent to the number of user %s", row.user_id)


def verify(row: SmsNumber, code: str, now: datetime | None = None) -> None:
    """Check the typed code; on success the number is usable. A wrong code uses a try (the
    caller commits either way); PhoneError says what went wrong."""
    now = now or utcnow()
    code = (code or "").strip().replace(" ", "")
    if row.verified_at is not None:
        return
    if row.code_hash is None or row.code_expires_at is None or row.code_expires_at <= now:
        raise PhoneError(_("That code has expired (codes work for 10 minutes): send a new one."))
    if row.code_attempts >= MAX_TRIES:
        raise PhoneError(_("Too many wrong codes: send a new one."))
    if not (code.isdigit() and len(code) == 6 and hmac.compare_digest(_hash(code), row.code_hash)):
        row.code_attempts += 1
        left = MAX_TRIES - row.code_attempts
        raise PhoneError(
            ngettext(
                "That code is not right; %(num)d try left.",
                "That code is not right; %(num)d tries left.",
                left,
            )
            if left
            else _("That code is not right, and that was the last try: send a new one.")
        )
    row.verified_at = now
    row.code_hash = None
    row.code_expires_at = None
    row.updated_at = now
    logger.info("user %s verified their phone number", row.user_id)


def turn_off(user_id: int, phone: str, reason: str, now: datetime | None = None) -> bool:
    """Stop texting the number (the provider said it cannot receive); True if it was on."""
    row = number_of(user_id)
    if row is None or row.phone != phone or row.disabled_reason is not None:
        return False
    row.disabled_reason = reason[:300]
    row.updated_at = now or utcnow()
    logger.warning("SMS turned off for user %s: %s", user_id, reason)
    return True


def remove(user_id: int) -> None:
    row = number_of(user_id)
    if row is not None:
        db.session.delete(row)
