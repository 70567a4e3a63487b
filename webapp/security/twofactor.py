"""TOTP two-factor sign-in (RFC 6238 through pyotp) and single-use recovery codes.

The secret is encrypted at rest with ENCRYPTION_KEY, like exchange API keys. A code is accepted
once: the credential remembers the newest 30-second step used, and the update that records it is
conditional, so two requests racing with the same code cannot both pass.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

import pyotp
import segno
import sqlalchemy as sa

from webapp import crypto
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import RecoveryCode, TotpCredential, User
from webapp.models.types import utcnow
from webapp.security.errors import InvalidCodeError, TwoFactorStateError

logger = logging.getLogger(__name__)

ISSUER = "Tradebots"
RECOVERY_CODE_COUNT = 10
CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
#: Codes of the step before and after the current one are accepted (clock drift).
VALID_WINDOW = 1


def credential(user: User) -> TotpCredential | None:
    return db.session.get(TotpCredential, user.id)


def is_enabled(user: User) -> bool:
    row = credential(user)
    return row is not None and row.enabled_at is not None


def pending_secret(user: User) -> str:
    """The secret being set up (made on first call and kept until confirmed or replaced)."""
    row = credential(user)
    if row is not None and row.enabled_at is not None:
        raise TwoFactorStateError(_("Two-factor sign-in is already on."))
    if row is None:
        row = TotpCredential(
            user_id=user.id, secret_encrypted=crypto.encrypt(pyotp.random_base32())
        )
        db.session.add(row)
        db.session.flush()
    return crypto.decrypt(row.secret_encrypted)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn here: no outside service sees it."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str) -> int | None:
    code = _normalize(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(utcnow())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user_id: int, step: int) -> bool:
    """Record `step` as used unless it (or a later one) was used already."""
    result = db.session.execute(
        sa.update(TotpCredential)
        .where(
            TotpCredential.user_id == user_id,
            sa.or_(TotpCredential.last_step.is_(None), TotpCredential.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return result.rowcount == 1


def confirm_setup(user: User, code: str) -> list[str]:
    """Turn two-factor on with the first valid code; returns the recovery codes (shown once)."""
    row = credential(user)
    if row is None or row.enabled_at is not None:
        raise TwoFactorStateError(_("Start the set-up again: no pending secret was found."))
    step = _matching_step(crypto.decrypt(row.secret_encrypted), code)
    if step is None or not _claim_step(user.id, step):
        raise InvalidCodeError()
    row = credential(user)
    row.enabled_at = utcnow()
    codes = regenerate_recovery_codes(user)
    logger.info("two-factor sign-in enabled for user %s", user.id)
    return codes


def disable(user: User) -> None:
    row = credential(user)
    if row is None or row.enabled_at is None:
        raise TwoFactorStateError(_("Two-factor sign-in is already off."))
    db.session.delete(row)
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    logger.info("two-factor sign-in disabled for user %s", user.id)


def _hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))  # 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def regenerate_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code with ten new ones; returns them in clear, once."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def verify(user: User, code: str) -> str:
    """Check a sign-in code: a TOTP code or a recovery code. Returns "totp" or "recovery";
    raises InvalidCodeError for a wrong, reused or malformed one."""
    row = credential(user)
    if row is None or row.enabled_at is None:
        raise TwoFactorStateError(_("Two-factor sign-in is off for this account."))
    step = _matching_step(crypto.decrypt(row.secret_encrypted), code)
    if step is not None:
        if _claim_step(user.id, step):
            return "totp"
        raise InvalidCodeError(_("This code was used already. Wait for the next one."))
    normalized = _normalize(code)
    if len(normalized) == 16:
        result = db.session.execute(
            sa.update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash(normalized),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            logger.info("recovery code used by user %s", user.id)
            return "recovery"
    raise InvalidCodeError()


def reencrypt_all() -> int:
    """Re-encrypt every TOTP secret with the newest ENCRYPTION_KEY (`flask keys rotate`);
    raises crypto.DecryptionError naming the user if one cannot be decrypted."""
    count = 0
    for row in db.session.scalars(sa.select(TotpCredential).order_by(TotpCredential.user_id)):
        try:
            row.secret_encrypted = crypto.rotate(row.secret_encrypted)
        except crypto.DecryptionError:
            raise crypto.DecryptionError(
                f"The two-factor secret of user {row.user_id} cannot be decrypted with any "
                "ENCRYPTION_KEY; nothing was re-encrypted."
            ) from None
        count += 1
    db.session.flush()
    return count
