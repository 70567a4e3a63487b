"""Point a real ccxt `binance` client at the simulated exchange.

Kept free of module-level ccxt imports so the simulator itself starts without loading ccxt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ccxt

logger = logging.getLogger(__name__)


def configure_ccxt_for_sim(exchange: ccxt.binance, base_url: str) -> None:
    """Send every request of `exchange` to the simulator at `base_url`.

    All API roots (spot, sapi, futures, ...; live, testnet and demo) are rewritten to the
    simulator, so nothing can reach the internet even through an endpoint the simulator does
    not serve (that answers 404, which ccxt raises as ExchangeNotAvailable).  Market loading is
    limited to spot (the simulator has no futures) and skips the signed sapi calls ccxt would
    otherwise make for currencies and margin pairs.
    """
    base = base_url.rstrip("/")
    for section in ("api", "test", "demo"):
        urls = exchange.urls.get(section)
        if isinstance(urls, dict):
            exchange.urls[section] = {
                name: base + urlsplit(url).path if isinstance(url, str) else url
                for name, url in urls.items()
            }
    options = exchange.options
    options["fetchMarkets"] = {"types": ["spot"], "loadAllOptions": False}
    options["fetchCurrencies"] = False  # would call sapi capital/config/getall
    options["fetchMargins"] = False  # would call sapi margin/allPairs
    options["adjustForTimeDifference"] = False  # same clock; no /time call on load_markets
    options["defaultType"] = "spot"
    open_orders = dict(options.get("fetchOpenOrders") or {})
    open_orders["warnWithoutSymbol"] = False  # the rate-limit warning does not apply here
    options["fetchOpenOrders"] = open_orders


def build_sim_client(
    base_url: str,
    api_key: str | None = None,
    secret: str | None = None,
    timeout_ms: int = 10000,
) -> ccxt.binance:
    """A fresh ccxt.binance talking to the simulator, with ccxt's own throttle off."""
    import ccxt

    config: dict[str, object] = {"timeout": timeout_ms, "enableRateLimit": False}
    if api_key is not None:
        config["apiKey"] = api_key
    if secret is not None:
        config["secret"] = secret
    exchange = ccxt.binance(config)
    configure_ccxt_for_sim(exchange, base_url)
    return exchange
