"""Our own exchange errors: what callers may show a user, and what they should do next.

ccxt's exception messages often hold the request URL (with its timestamp and signature) and the
raw response body, so they never reach users or logs as they are. `map_ccxt_error` keeps only
the ccxt class name and the exchange's own error code and message (e.g. Binance's
``{"code": -2015, "msg": "..."}``), scrubbed of anything URL-like; `message` is our fixed,
user-facing text.

Two flags tell callers (key validation, the bot engine) what to do:

- ``transient``: the exchange could not answer now (network, timeout, maintenance, rate limit);
  retry later, change nothing.
- ``invalidates_key``: the exchange refused the credentials themselves; mark the key invalid
  and stop the bots using it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import ccxt

from webapp.i18n.marks import N_

logger = logging.getLogger(__name__)

__all__ = [
    "ExchangeError",
    "ExchangeUnavailable",
    "InsufficientFunds",
    "KeyRejected",
    "KeyUnreadable",
    "OrderLimitReached",
    "OrderNotFound",
    "OrderRejected",
    "PermissionMissing",
    "RateLimited",
    "UnknownSymbol",
    "map_ccxt_error",
    "translate_errors",
]


class ExchangeError(Exception):
    """Base class: the exchange refused or could not answer a request.

    `str(error)` is the user-facing message. `ccxt_error` (a class name), `code` and
    `exchange_message` are safe to log; `summary()` joins them for a log line.
    """

    message = N_("The exchange refused the request.")
    transient = False
    invalidates_key = False

    def __init__(
        self,
        message: str | None = None,
        *,
        ccxt_error: str | None = None,
        code: str | None = None,
        exchange_message: str | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.ccxt_error = ccxt_error
        self.code = code
        self.exchange_message = exchange_message
        super().__init__(self.message)

    def summary(self) -> str:
        """A log-safe one-liner: our class, ccxt's class, the exchange's code and message."""
        parts = [type(self).__name__]
        if self.ccxt_error:
            parts.append(f"ccxt={self.ccxt_error}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.exchange_message:
            parts.append(f"msg={self.exchange_message!r}")
        return " ".join(parts)


class KeyRejected(ExchangeError):
    """Wrong, deleted or expired API key or secret."""

    message = N_("The exchange rejected this API key or secret.")
    invalidates_key = True


class PermissionMissing(ExchangeError):
    """The key is known but may not do this: a permission is off or the IP is not whitelisted."""

    message = N_(
        "The exchange refused this API key: a permission is missing or this server's IP "
        "address is not whitelisted for it. Enable reading and spot trading for the key and "
        "check its IP restrictions."
    )
    invalidates_key = True


class KeyUnreadable(ExchangeError):
    """The stored key cannot be decrypted with the configured ENCRYPTION_KEY."""

    message = N_(
        "This key can no longer be decrypted (the server's encryption key changed). Delete it "
        "and add it again."
    )
    invalidates_key = True


class WithdrawalsEnabled(ExchangeError):
    """The key may withdraw funds: a bot never needs that, and a leaked key could empty the
    account, so such a key is refused (and a stored one invalidated)."""

    message = N_(
        "This key is allowed to withdraw funds. Trading bots never need that, and a leaked key "
        'could empty the account: at the exchange, open API Management, untick "Enable '
        'Withdrawals" for this key (or create a new key without it), then add it again.'
    )
    invalidates_key = True


class InsufficientFunds(ExchangeError):
    message = N_("The exchange account does not have enough balance for this order.")


class OrderRejected(ExchangeError):
    """The exchange refused an order (size, price, filters, too many orders)."""

    message = N_("The exchange refused the order: its size or price is outside what it accepts.")


class OrderNotFound(OrderRejected):
    message = N_("The exchange has no such order.")


class UnknownSymbol(ExchangeError):
    message = N_("The exchange does not list this market symbol.")


class ExchangeUnavailable(ExchangeError):
    """Network failure, timeout or maintenance: nothing is known to have happened."""

    message = N_("The exchange could not be reached; try again in a minute.")
    transient = True


class RateLimited(ExchangeError):
    message = N_("The exchange rate limited our requests; try again shortly.")
    transient = True


class OrderLimitReached(RateLimited):
    """The key placed as many orders today (UTC) as the exchange allows: refused before
    sending, since the exchange would refuse it too (and count the attempt)."""

    message = N_(
        "This API key placed as many orders today as the exchange allows; new orders resume "
        "after midnight UTC."
    )


# Most specific first: ccxt's classes inherit from each other (PermissionDenied is an
# AuthenticationError, RateLimitExceeded a NetworkError, OrderNotFound an InvalidOrder).
_MAPPING: tuple[tuple[type[Exception], type[ExchangeError], str | None], ...] = (
    (ccxt.PermissionDenied, PermissionMissing, None),
    (ccxt.AccountSuspended, KeyRejected, N_("The exchange says this account is suspended.")),
    (ccxt.AuthenticationError, KeyRejected, None),
    (ccxt.InsufficientFunds, InsufficientFunds, None),
    (ccxt.OrderNotFound, OrderNotFound, None),
    (ccxt.InvalidOrder, OrderRejected, None),
    (ccxt.BadSymbol, UnknownSymbol, None),
    (ccxt.RateLimitExceeded, RateLimited, None),
    (ccxt.DDoSProtection, RateLimited, None),
    (
        ccxt.InvalidNonce,
        ExchangeUnavailable,
        N_(
            "The exchange refused the request's timestamp; check this server's clock and try "
            "again in a minute."
        ),
    ),
    (ccxt.OnMaintenance, ExchangeUnavailable, N_("The exchange is under maintenance; try later.")),
    (ccxt.NetworkError, ExchangeUnavailable, None),
    (ccxt.BadResponse, ExchangeUnavailable, None),
    # ccxt's "failed, may be retried" family (e.g. Binance -1001 internal error).
    (ccxt.OperationFailed, ExchangeUnavailable, None),
)

# Binance answers -2015 for a wrong or deleted key, an IP not on the key's whitelist and a
# missing permission alike, so the user is told all three.
_BINANCE_AMBIGUOUS_REJECTION = "-2015"
_AMBIGUOUS_REJECTION_MESSAGE = N_(
    "The exchange rejected this API key or secret. (Binance gives the same answer when the "
    "key's IP whitelist or permissions do not allow this server.)"
)

_URLISH = re.compile(r"(?i)\b(?:https?://|wss?://)\S*|\b(?:signature|apikey|api_key)=\S*")
_MAX_EXCHANGE_MESSAGE = 200


def _exchange_code_and_message(text: str) -> tuple[str | None, str | None]:
    """Binance-style ``{"code": ..., "msg": ...}`` from a ccxt message, scrubbed for logging."""
    start = text.find("{")
    while start != -1:
        try:
            body, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if not isinstance(body, dict):
            break
        code = body.get("code")
        msg = body.get("msg", body.get("message"))
        code = None if code is None else str(code)
        if isinstance(msg, str):
            msg = _URLISH.sub("[redacted]", msg)[:_MAX_EXCHANGE_MESSAGE]
        else:
            msg = None
        return code, msg
    return None, None


def map_ccxt_error(exc: BaseException) -> ExchangeError:
    """Our error for a ccxt exception (any other exception maps to the generic base class)."""
    if isinstance(exc, ExchangeError):
        return exc
    code, exchange_message = _exchange_code_and_message(str(exc))
    error_class: type[ExchangeError] = ExchangeError
    message = None
    for ccxt_class, ours, override in _MAPPING:
        if isinstance(exc, ccxt_class):
            error_class, message = ours, override
            break
    if error_class is KeyRejected and message is None and code == _BINANCE_AMBIGUOUS_REJECTION:
        message = _AMBIGUOUS_REJECTION_MESSAGE
    return error_class(
        message,
        ccxt_error=type(exc).__name__,
        code=code,
        exchange_message=exchange_message,
    )


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn any ccxt exception raised inside the block into our ExchangeError.

    Ours is raised ``from None``, so no traceback printed later shows ccxt's message (request
    URL, signature, response body).
    """
    try:
        yield
    except ccxt.BaseError as exc:
        error = map_ccxt_error(exc)
        logger.debug("exchange call failed: %s", error.summary())
        raise error from None
