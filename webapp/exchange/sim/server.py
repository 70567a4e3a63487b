"""Serve a `Simulator` over HTTP on loopback, in a background thread.

Tests and the benchmark use `SimServer` as a context manager; the CLI uses `make_sim_server`
and serves in the foreground.  The server is werkzeug's threaded one (a thread per connection),
because ccxt clients keep connections alive and a slow request must not block the others.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_sim_app
from .simulator import Simulator

logger = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """Logs each request at DEBUG through our logger, without the query string.

    werkzeug's default prints every request line to stderr, query string included; that is
    noise under load and would put request signatures into logs.
    """

    # Close keep-alive connections idle this long, so clients that never close theirs (one
    # ccxt session per bot) cannot pin a server thread each forever.
    timeout = 300

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        quiet = type == "info" or message.startswith("Request timed out")
        logger.log(logging.DEBUG if quiet else logging.WARNING, message, *args)


def make_sim_server(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A threaded werkzeug server for `sim`; port 0 picks a free port (see `.server_port`)."""
    return make_server(
        host, port, create_sim_app(sim), threaded=True, request_handler=QuietRequestHandler
    )


def server_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class SimServer:
    """A simulated exchange listening on loopback for the lifetime of a `with` block.

    >>> with SimServer(Simulator(seed=1, frozen=True)) as server:
    ...     exchange = server.client("key", "secret")   # a real ccxt.binance
    """

    def __init__(self, sim: Simulator | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.sim = sim if sim is not None else Simulator()
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (valid once started)."""
        return server_url(self.host, self.port)

    def start(self) -> SimServer:
        if self._server is not None:
            return self
        self._server = make_sim_server(self.sim, self.host, self.port)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-exchange-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("simulated exchange listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.sim.release_hung_requests()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def client(
        self, api_key: str | None = None, secret: str | None = None, timeout_ms: int = 10000
    ):
        """A ccxt.binance pointed at this server (see `build_sim_client`)."""
        from .client import build_sim_client

        return build_sim_client(self.url, api_key, secret, timeout_ms)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
