"""The exchange's clock, as far as signed requests are concerned.

Binance refuses a signed request whose timestamp is not within `recvWindow` of its own clock
(-1021). A host whose clock drifts would then fail every cycle; instead, on -1021 the client
measures the offset with `/api/v3/time` and sends the request once more, re-signed. The offset
is kept per exchange host for the process, so the clients built after it start right.
A -1021 means the request was refused before it was looked at, so sending an order again
cannot place it twice.
"""

from __future__ import annotations

import logging
import threading

import ccxt

logger = logging.getLogger(__name__)

_offsets: dict[str, int] = {}  # host -> ccxt's options["timeDifference"] (ms)
_lock = threading.Lock()


def _host(client) -> str:
    urls = client.urls.get("api") or {}
    url = urls.get("private") or urls.get("public") or ""
    return url.split("//", 1)[-1].split("/", 1)[0]


def keep_in_step(client) -> None:
    """Start `client` with its host's known offset and resynchronise it on -1021. (The host is
    read at the first request: the client's addresses may still be changed after this.)"""
    fetch2 = client.fetch2
    started = False

    def fetch2_in_step(path, api="public", method="GET", params=None, config=None):
        nonlocal started
        params = {} if params is None else params
        config = {} if config is None else config
        host = _host(client)
        if not started:
            started = True
            if host in _offsets:
                client.options["timeDifference"] = _offsets[host]
        try:
            return fetch2(path, api, method, params, config)
        except ccxt.InvalidNonce:
            offset = client.load_time_difference()
            with _lock:
                _offsets[host] = offset
            logger.warning(
                "%s: clock offset to the exchange is %s ms; resynchronised after -1021",
                host,
                offset,
            )
            return fetch2(path, api, method, params, config)

    client.fetch2 = fetch2_in_step


def forget_offsets() -> None:
    """For tests: start from no known offset."""
    with _lock:
        _offsets.clear()
