"""A real HTTPS server on loopback for webhook tests.

A throw-away certificate authority (trustme) issues the server's certificate; tests hand the
CA's PEM file to the client as ``ca_bundle`` so certificate verification stays fully on.
The server certificate is valid for ``localhost``, ``127.0.0.1``, ``::1`` and
``webhooks.test`` (a name only a test resolver knows, to prove no second DNS lookup happens).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

SERVER_NAMES = ("localhost", "127.0.0.1", "::1", "webhooks.test")


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The test certificate authority that signs the HTTPS server's certificate."""
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a PEM file holding only the test CA: pass it as ``ca_bundle``."""
    path = Path(tmp_path_factory.mktemp("tls")) / "test-ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def _https_server_session(tls_ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert(*SERVER_NAMES).configure_cert(context)
    # Threaded so that a deliberately slow handler does not stall the next test's request.
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def https_server(_https_server_session: HTTPServer) -> Iterator[HTTPServer]:
    """An HTTPS pytest-httpserver on 127.0.0.1 (random port), cleared before and after use.

    Register handlers with ``https_server.expect_request(...)``; ``https_server.log`` holds
    the (request, response) pairs received.
    """
    _https_server_session.clear()
    yield _https_server_session
    _https_server_session.clear()
