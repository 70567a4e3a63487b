"""The one place that builds ccxt clients, and the only code that decrypts stored API keys.

Where a client talks to is decided here, from the app config, so no caller can get it wrong:

1. ``EXCHANGE_SIM_URL`` set: the built-in simulated exchange (development, demos, tests);
2. the key's testnet flag, or ``VALIDATE_API_ON_TESTNET`` when a key is only being checked
   (never for a bot's orders, whose market data is live): the exchange's testnet (ccxt's
   sandbox mode);
3. otherwise the live exchange.

Public market data (`public_client`) uses the simulator when it is set, else the testnet when
``TESTNET_URL`` is set, else the live exchange.

Call every method of a client inside `webapp.exchange.errors.translate_errors()` so callers only
ever see our own ExchangeError subclasses.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import ccxt
from flask import current_app

from webapp import crypto
from webapp.exchange.errors import ExchangeError, KeyUnreadable

if TYPE_CHECKING:
    from webapp.models import ApiKey

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "SUPPORTED_EXCHANGES",
    "UnsupportedExchange",
    "client_for_credentials",
    "client_for_key",
    "exchange_name",
    "public_client",
]

#: ccxt exchange ids users can add keys for, with their display names.
SUPPORTED_EXCHANGES: dict[str, str] = {"binance": "Binance"}

DEFAULT_TIMEOUT_MS = 10_000

# ccxt logs every request's headers at DEBUG, and Binance's carry the API key (X-MBX-APIKEY);
# keep those records from ever being created, whatever level the root logger is set to.
logging.getLogger("ccxt").setLevel(logging.INFO)


class UnsupportedExchange(ExchangeError):
    message = "This exchange is not supported."


def exchange_name(exchange_id: str) -> str:
    return SUPPORTED_EXCHANGES.get(exchange_id, exchange_id)


def _new_client(exchange_id: str, **credentials: str) -> ccxt.Exchange:
    if exchange_id not in SUPPORTED_EXCHANGES:
        raise UnsupportedExchange()
    exchange_class = getattr(ccxt, exchange_id)
    timeout = int(current_app.config.get("EXCHANGE_TIMEOUT_MS") or DEFAULT_TIMEOUT_MS)
    client = exchange_class(
        {
            # ccxt's throttle only knows this process; the shared budget attached below
            # paces every process of the installation instead.
            "enableRateLimit": False,
            "timeout": timeout,
            # Spot only: skip loading futures markets and the (signed) currency list.
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
            },
            **credentials,
        }
    )
    from webapp.exchange.budget import attach, budgets_of
    from webapp.exchange.clock import keep_in_step
    from webapp.metrics import count_exchange_requests

    count_exchange_requests(client, exchange_id)
    attach(client, budgets_of(current_app._get_current_object()))
    keep_in_step(client)
    return client


def _use_simulator(client: ccxt.Exchange) -> bool:
    sim_url = current_app.config.get("EXCHANGE_SIM_URL")
    if not sim_url:
        return False
    from webapp.exchange.sim import configure_ccxt_for_sim

    configure_ccxt_for_sim(client, sim_url)
    return True


def client_for_credentials(
    exchange_id: str, key: str, secret: str, testnet: bool = False, *, trading: bool = False
) -> ccxt.Exchange:
    """A private-API client for plaintext credentials (validating a key before it is saved).

    VALIDATE_API_ON_TESTNET applies to checking keys only: a `trading` client (a bot's orders)
    goes where the bot's market data comes from, the testnet only if the key itself is one.
    """
    client = _new_client(exchange_id, apiKey=key, secret=secret)
    if _use_simulator(client):
        return client
    if testnet or (not trading and current_app.config.get("VALIDATE_API_ON_TESTNET")):
        client.set_sandbox_mode(True)
    return client


def client_for_key(api_key: ApiKey, *, trading: bool = False) -> ccxt.Exchange:
    """A private-API client for a stored key (`trading`: for a bot's orders, see above).

    Raises KeyUnreadable (an ExchangeError that invalidates the key) when the stored key
    cannot be decrypted with the configured ENCRYPTION_KEY.
    """
    try:
        key = crypto.decrypt(api_key.key_encrypted)
        secret = crypto.decrypt(api_key.secret_encrypted)
    except crypto.DecryptionError:
        logger.error("api key %s cannot be decrypted with ENCRYPTION_KEY", api_key.id)
        raise KeyUnreadable() from None
    return client_for_credentials(
        api_key.exchange, key, secret, testnet=api_key.testnet, trading=trading
    )


def public_client(exchange_id: str = "binance") -> ccxt.Exchange:
    """A client without credentials, for market data shared by every bot."""
    client = _new_client(exchange_id)
    if _use_simulator(client):
        return client
    testnet_url = current_app.config.get("TESTNET_URL")
    if testnet_url:
        client.set_sandbox_mode(True)
        if testnet_url.startswith(("http://", "https://")):
            _point_urls_at(client, testnet_url)
    return client


def _point_urls_at(client: ccxt.Exchange, base_url: str) -> None:
    """Swap the scheme and host of every API URL for `base_url`'s, keeping the paths.

    For a self-hosted testnet mirror: ``TESTNET_URL=http://10.0.0.5:8080`` sends
    ``https://testnet.binance.vision/api/v3/...`` to ``http://10.0.0.5:8080/api/v3/...``.
    """
    target = urlsplit(base_url.rstrip("/"))

    def rewrite(value):
        if isinstance(value, dict):
            return {name: rewrite(item) for name, item in value.items()}
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            return parts._replace(scheme=target.scheme, netloc=target.netloc).geturl()
        return value

    client.urls["api"] = rewrite(client.urls["api"])
