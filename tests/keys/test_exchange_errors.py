"""ccxt's exceptions, as ccxt's own Binance code raises them, become our user-facing errors."""

from __future__ import annotations

import json

import ccxt
import pytest

from webapp.exchange import errors

SIGNED_URL = (
    "https://api.binance.com/api/v3/account?timestamp=1700000000000"
    "&signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)


def binance_error(status: int, code: int | None, msg: str) -> ccxt.BaseError:
    """The exception ccxt raises for this HTTP answer from Binance (`code` None: `msg` raw)."""
    text = msg if code is None else json.dumps({"code": code, "msg": msg})
    parsed = None if code is None else json.loads(text)
    exchange = ccxt.binance()
    try:
        exchange.handle_errors(status, "reason", SIGNED_URL, "GET", {}, text, parsed, {}, None)
        exchange.handle_http_status_code(status, "reason", SIGNED_URL, "GET", text)
    except ccxt.BaseError as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {status} {text}")


# (transient, invalidates_key) per class of ours.
FLAGS = {
    errors.RateLimited: (True, False),
    errors.ExchangeUnavailable: (True, False),
    errors.PermissionMissing: (False, True),
    errors.KeyRejected: (False, True),
    errors.InsufficientFunds: (False, False),
    errors.OrderRejected: (False, False),
    errors.OrderNotFound: (False, False),
    errors.UnknownSymbol: (False, False),
    errors.ExchangeError: (False, False),
}


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (binance_error(429, -1003, "Too many requests."), errors.RateLimited),
        (binance_error(418, -1003, "Way too many requests; IP banned."), errors.RateLimited),
        (binance_error(400, -1003, "Too much request weight used."), errors.RateLimited),
        (ccxt.RateLimitExceeded("binance rate limit"), errors.RateLimited),
        (
            ccxt.PermissionDenied(
                'binance {"code":-1005,"msg":"No such IP has been white listed"}'
            ),
            errors.PermissionMissing,
        ),
        (ccxt.AccountNotEnabled("binance account not enabled"), errors.PermissionMissing),
        (binance_error(401, -2014, "API-key format invalid."), errors.KeyRejected),
        (binance_error(400, -1022, "Signature for this request is not valid."), errors.KeyRejected),
        (
            binance_error(400, -2010, "Account has insufficient balance for requested action."),
            errors.InsufficientFunds,
        ),
        (binance_error(400, -1013, "Filter failure: LOT_SIZE"), errors.OrderRejected),
        (binance_error(400, -2013, "Order does not exist."), errors.OrderNotFound),
        (binance_error(400, -1121, "Invalid symbol."), errors.UnknownSymbol),
        (binance_error(503, None, "<html>Service Unavailable</html>"), errors.ExchangeUnavailable),
        (binance_error(500, -1001, "Internal error; try again."), errors.ExchangeUnavailable),
        (ccxt.RequestTimeout(f"binance GET {SIGNED_URL}"), errors.ExchangeUnavailable),
        (ccxt.NetworkError(f"binance GET {SIGNED_URL}"), errors.ExchangeUnavailable),
        (ccxt.ExchangeNotAvailable("binance 404 Not Found"), errors.ExchangeUnavailable),
        (ccxt.OnMaintenance("binance system maintenance"), errors.ExchangeUnavailable),
        (ccxt.NotSupported("binance fetchFoo() is not supported yet"), errors.ExchangeError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_ccxt_errors_map_to_ours(exc, expected):
    error = errors.map_ccxt_error(exc)
    assert type(error) is expected
    assert (error.transient, error.invalidates_key) == FLAGS[expected]
    assert error.ccxt_error == type(exc).__name__
    # Never ccxt's text: it holds the signed URL and raw bodies.
    for text in (str(error), error.summary()):
        assert "signature" not in text and "api.binance.com" not in text
        assert "<html>" not in text


def test_user_facing_messages():
    assert str(errors.map_ccxt_error(ccxt.RateLimitExceeded("x"))) == (
        "The exchange rate limited our requests; try again shortly."
    )
    assert "a permission is missing or this server's IP address is not whitelisted" in str(
        errors.map_ccxt_error(ccxt.PermissionDenied("x"))
    )
    assert str(errors.map_ccxt_error(ccxt.AuthenticationError("x"))) == (
        "The exchange rejected this API key or secret."
    )
    assert str(errors.map_ccxt_error(ccxt.NetworkError("x"))) == (
        "The exchange could not be reached; try again in a minute."
    )


def test_binance_ambiguous_rejection_names_every_cause():
    exc = binance_error(401, -2015, "Invalid API-key, IP, or permissions for action.")
    error = errors.map_ccxt_error(exc)
    assert isinstance(error, errors.KeyRejected)
    assert str(error).startswith("The exchange rejected this API key or secret.")
    assert "IP whitelist or permissions" in str(error)


def test_the_exchange_code_and_message_are_kept_for_logs_and_scrubbed():
    exc = ccxt.BadRequest(
        'binance {"code":-1100,"msg":"Illegal characters in https://x.test/a?signature=abc"}'
    )
    error = errors.map_ccxt_error(exc)
    assert error.code == "-1100"
    assert error.exchange_message == "Illegal characters in [redacted]"
    assert error.summary() == (
        "ExchangeError ccxt=BadRequest code=-1100 msg='Illegal characters in [redacted]'"
    )


def test_translate_errors_raises_ours_without_ccxts_chain():
    with pytest.raises(errors.ExchangeUnavailable) as caught, errors.translate_errors():
        raise ccxt.RequestTimeout(f"binance GET {SIGNED_URL}")
    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None
    with errors.translate_errors():
        pass  # no exception, nothing happens
    with pytest.raises(ValueError), errors.translate_errors():
        raise ValueError("not an exchange error: passes through")
