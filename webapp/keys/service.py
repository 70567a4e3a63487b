"""Users' exchange API keys: add (validated first), re-check, delete, re-encrypt.

Routes, CLI commands and RQ jobs all go through these functions. None of them commits: the
caller owns the transaction, so a key's new state and the event it raises (`api_key_invalid`,
written to the notifications outbox by `emit`) are committed together or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import ccxt
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from webapp import crypto
from webapp.events import EventType, emit
from webapp.exchange.clients import (
    SUPPORTED_EXCHANGES,
    client_for_credentials,
    client_for_key,
    exchange_name,
)
from webapp.exchange.errors import (
    ExchangeError,
    ExchangeUnavailable,
    RateLimited,
    WithdrawalsEnabled,
    translate_errors,
)
from webapp.extensions import db
from webapp.i18n.current import gettext as _
from webapp.models import ApiKey, Bot, BotState, User
from webapp.models.types import utcnow

logger = logging.getLogger(__name__)

LABEL_MAX = 64
KEY_MAX = 256
SECRET_MAX = 256


class KeysError(Exception):
    """Base class; `str(error)` is a message for the user."""


class KeyNotFound(KeysError, LookupError):
    """No key with this id belongs to this user (shown as a 404, never as "not yours")."""

    def __init__(self) -> None:
        super().__init__(_("There is no such API key."))


class LabelTaken(KeysError):
    def __init__(self) -> None:
        super().__init__(_("You already have a key with this label; choose another one."))


class InvalidKeyInput(KeysError):
    """A field is empty or too long (the form normally catches this first)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class KeyNotSaved(KeysError):
    """The exchange did not accept the key (or could not be asked); nothing was stored."""

    def __init__(self, error: ExchangeError) -> None:
        self.error = error
        super().__init__(_not_saved_message(error))


def _not_saved_message(error: ExchangeError) -> str:
    if isinstance(error, RateLimited):
        return _("The exchange rate limited our requests. Nothing was saved; try again shortly.")
    if isinstance(error, ExchangeUnavailable) and error.message == ExchangeUnavailable.message:
        return _("The exchange could not be reached. Nothing was saved; try again in a minute.")
    return _("%(error)s Nothing was saved.", error=error_text(error.message))


class KeyBusy(KeysError):
    """A bot using the key sent an order whose fill is not recorded yet; deleting the key now
    would leave the engine unable to look that order up."""

    def __init__(self) -> None:
        super().__init__(
            _("A bot using this key has an order being settled; try again in a minute.")
        )


def _credential_message(field: str) -> str:
    if field == "api_key":
        return _(
            "An API key holds only letters, digits and symbols such as - or _, with no "
            "spaces, accents or emoji. Copy it again from the exchange."
        )
    return _(
        "A secret holds only letters, digits and symbols such as - or _, with no "
        "spaces, accents or emoji. Copy it again from the exchange."
    )


def error_text(message: str | None) -> str:
    """A key's stored error (the exchange's answer, kept in English) in the reader's language."""
    if not message:
        return ""
    return _(message)


def is_credential_text(value: str) -> bool:
    """Printable ASCII without spaces: what an exchange's API key or secret is made of."""
    return value.isascii() and value.isprintable() and " " not in value


def stop_bots_for_key(key_id: int, reason: str, *, live_only: bool = False) -> int:
    """Stop every running bot that trades with API key `key_id`; returns how many stopped.

    THE hook between keys and bots, called inside the caller's transaction (it never commits)
    before a key is deleted and when the exchange newly rejects a key. `reason` is user-facing
    (e.g. "Its API key was deleted.") and lands in each bot's state and activity log. The bot
    engine owns what stopping means (webapp.engine.service.stop_bots_for_key).
    """
    from webapp.engine.service import stop_bots_for_key as stop_engine_bots

    return stop_engine_bots(key_id, reason, live_only=live_only)


def key_for_user(user: User | int, key_id: int) -> sa.Select[tuple[ApiKey]]:
    """The query for one of the user's keys (another user's id finds nothing)."""
    user_id = user if isinstance(user, int) else user.id
    return sa.select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)


def keys_for_user(user: User) -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.user_id == user.id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
    )


@dataclass(frozen=True)
class Permissions:
    """What the exchange says a key may do; None where it does not say."""

    can_trade: bool | None = None
    ip_restricted: bool | None = None

    def apply_to(self, api_key: ApiKey) -> None:
        api_key.can_trade = self.can_trade
        api_key.ip_restricted = self.ip_restricted


def _verify(client: ccxt.Exchange) -> Permissions:
    """Ask the exchange for the account balance (proof the key and secret work for reading),
    then for the key's restrictions: a key that may withdraw is refused (WithdrawalsEnabled)."""
    try:
        with translate_errors():
            client.fetch_balance()
        return _permissions(client)
    finally:
        client.close()


def _permissions(client: ccxt.Exchange) -> Permissions:
    try:
        with translate_errors():
            restrictions = client.sapiGetAccountApiRestrictions()
    except ExchangeError as exc:  # e.g. a testnet, which has no /sapi: nothing is known
        logger.info("api key restrictions not available: %s", exc.summary())
        return Permissions()
    if restrictions.get("enableWithdrawals") is True:
        raise WithdrawalsEnabled()
    can_trade = restrictions.get("enableSpotAndMarginTrading")
    ip_restricted = restrictions.get("ipRestrict")
    return Permissions(
        can_trade=can_trade if isinstance(can_trade, bool) else None,
        ip_restricted=ip_restricted if isinstance(ip_restricted, bool) else None,
    )


def add_key(
    user: User,
    exchange: str,
    label: str,
    key: str,
    secret: str,
    testnet: bool = False,
) -> ApiKey:
    """Validate the credentials with the exchange, then store them encrypted.

    Nothing is stored unless the exchange accepted the key. Raises InvalidKeyInput, LabelTaken
    or KeyNotSaved (whose message says what went wrong and that nothing was saved).
    """
    label, key, secret = (label or "").strip(), (key or "").strip(), (secret or "").strip()
    if exchange not in SUPPORTED_EXCHANGES:
        raise InvalidKeyInput("exchange", _("Choose one of the supported exchanges."))
    for field, value, limit in (
        ("label", label, LABEL_MAX),
        ("api_key", key, KEY_MAX),
        ("api_secret", secret, SECRET_MAX),
    ):
        if not value:
            raise InvalidKeyInput(field, _("This field is required."))
        if len(value) > limit:
            raise InvalidKeyInput(field, _("At most %(max)s characters.", max=limit))
    for field, value in (("api_key", key), ("api_secret", secret)):
        # Exchanges issue plain ASCII; anything else could not even be sent in a header.
        if not is_credential_text(value):
            raise InvalidKeyInput(field, _credential_message(field))
    if db.session.scalar(
        sa.select(ApiKey.id).where(ApiKey.user_id == user.id, ApiKey.label == label)
    ):
        raise LabelTaken()

    try:
        permissions = _verify(client_for_credentials(exchange, key, secret, testnet=testnet))
    except ExchangeError as exc:
        logger.info("new api key for user %s not saved: %s", user.id, exc.summary())
        raise KeyNotSaved(exc) from None

    api_key = ApiKey(
        user_id=user.id,
        exchange=exchange,
        label=label,
        key_encrypted=crypto.encrypt(key),
        secret_encrypted=crypto.encrypt(secret),
        key_last4=key[-4:],
        testnet=testnet,
        is_valid=True,
        last_validated_at=utcnow(),
        last_error=None,
    )
    permissions.apply_to(api_key)
    try:
        with db.session.begin_nested():
            db.session.add(api_key)
    except IntegrityError:  # the same label added twice at once
        raise LabelTaken() from None
    logger.info(
        "api key %s (%s %s) added for user %s", api_key.id, exchange, api_key.masked_key, user.id
    )
    return api_key


def revalidate(api_key_id: int) -> ApiKey | None:
    """Check a stored key with the exchange and record the answer; None if it no longer exists.

    Accepted: valid, error cleared. Rejected (bad key or secret, missing permission, key no
    longer decryptable): invalid with the reason; if it was valid until now, the bots using it
    are stopped and the owner gets `api_key_invalid`. The exchange unreachable or rate
    limiting: only `last_error` is recorded; validity and the time of the last definite answer
    stay as they were.
    """
    api_key = db.session.get(ApiKey, api_key_id)
    if api_key is None:
        return None
    try:
        permissions = _verify(client_for_key(api_key))
    except ExchangeError as exc:
        if not exc.invalidates_key:
            logger.info("api key %s not checked: %s", api_key.id, exc.summary())
            api_key.last_error = exc.message
            return api_key
        logger.info("api key %s rejected: %s", api_key.id, exc.summary())
        mark_key_rejected(api_key, exc.message)
        return api_key
    api_key.is_valid = True
    api_key.last_error = None
    api_key.last_validated_at = utcnow()
    permissions.apply_to(api_key)
    if permissions.can_trade is False:
        stop_bots_for_key(api_key.id, "Its API key can no longer trade spot.", live_only=True)
    return api_key


def mark_key_rejected(api_key: ApiKey, reason: str, when: datetime | None = None) -> bool:
    """Record that the exchange rejected `api_key` (user-facing `reason`); the caller commits.

    If the key was valid until now, the bots using it are stopped and the owner gets
    `api_key_invalid`; returns whether that happened. For the bot engine too, when an order
    or balance call is refused with an error whose `invalidates_key` is true.
    """
    when = when or utcnow()
    # Decided by the database, not by the loaded row: of two workers rejecting the same key at
    # once only the one whose UPDATE changes it stops the bots and tells the owner.
    changed = db.session.execute(
        sa.update(ApiKey)
        .where(ApiKey.id == api_key.id, ApiKey.is_valid.is_(True))
        .values(is_valid=False, last_error=reason, last_validated_at=when)
        .execution_options(synchronize_session=False)
    ).rowcount
    newly_rejected = changed == 1
    if not newly_rejected:
        db.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == api_key.id)
            .values(last_error=reason, last_validated_at=when)
            .execution_options(synchronize_session=False)
        )
    for name, value in (("is_valid", False), ("last_error", reason), ("last_validated_at", when)):
        set_committed_value(api_key, name, value)
    if newly_rejected:
        _key_became_invalid(api_key, reason)
    return newly_rejected


def _key_became_invalid(api_key: ApiKey, reason: str) -> None:
    from webapp.security.audit import AuditAction, record

    record(AuditAction.KEY_INVALID, api_key.user_id, f"API key “{api_key.label}”: {reason}"[:300])
    stopped = stop_bots_for_key(api_key.id, f"The exchange rejected its API key: {reason}")
    emit(
        api_key.user_id,
        EventType.API_KEY_INVALID,
        {
            "key_id": api_key.id,
            "label": api_key.label,
            "exchange": exchange_name(api_key.exchange),
            "key": api_key.masked_key,
            "error": reason,
            "bots_stopped": stopped,
            "url": "/keys/",
        },
    )


def delete_key(user: User, key_id: int) -> int:
    """Delete one of the user's keys, stopping the bots that use it first; returns how many."""
    api_key = db.session.scalar(key_for_user(user, key_id))
    if api_key is None:
        raise KeyNotFound()
    settling = db.session.scalar(
        sa.select(BotState.bot_id)
        .join(Bot, Bot.id == BotState.bot_id)
        .where(Bot.api_key_id == api_key.id, BotState.pending_client_order_id.is_not(None))
        .limit(1)
    )
    if settling is not None:
        raise KeyBusy()
    stopped = stop_bots_for_key(api_key.id, "Its API key was deleted.")
    db.session.delete(api_key)
    db.session.flush()
    logger.info("api key %s deleted by user %s (%s bots stopped)", key_id, user.id, stopped)
    return stopped


def all_key_ids() -> list[int]:
    return list(db.session.scalars(sa.select(ApiKey.id).order_by(ApiKey.id)))


def rotate_all() -> int:
    """Re-encrypt every stored key and secret with the newest ENCRYPTION_KEY; returns the count.

    Raises crypto.DecryptionError (naming no value) if any key cannot be decrypted; the caller
    then rolls back so nothing is half-rotated.
    """
    count = 0
    for api_key in db.session.scalars(sa.select(ApiKey).order_by(ApiKey.id)).all():
        try:
            api_key.key_encrypted = crypto.rotate(api_key.key_encrypted)
            api_key.secret_encrypted = crypto.rotate(api_key.secret_encrypted)
        except crypto.DecryptionError:
            raise crypto.DecryptionError(
                f"API key {api_key.id} cannot be decrypted with any ENCRYPTION_KEY; nothing "
                "was re-encrypted. Put back the key that encrypted it (after the new one) "
                "and run the rotation again."
            ) from None
        count += 1
    db.session.flush()
    logger.info("re-encrypted %s api keys with the newest ENCRYPTION_KEY", count)
    return count


__all__ = [
    "InvalidKeyInput",
    "KeyNotFound",
    "KeyNotSaved",
    "KeysError",
    "LabelTaken",
    "add_key",
    "all_key_ids",
    "delete_key",
    "key_for_user",
    "keys_for_user",
    "mark_key_rejected",
    "revalidate",
    "rotate_all",
    "stop_bots_for_key",
]
