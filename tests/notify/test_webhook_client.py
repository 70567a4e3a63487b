"""deliver() against a real HTTPS server on loopback (see conftest.py)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from werkzeug import Request, Response

from webapp.notify.netguard import Target, check_url
from webapp.notify.signing import build_headers, generate_secret, new_message_id, verify
from webapp.notify.webhook_client import (
    ConnectionPools,
    DeliveryResult,
    deliver,
    parse_retry_after,
)

LOCAL = {"localhost", "127.0.0.1"}
BODY = json.dumps(
    {"type": "trade_executed", "timestamp": "2026-01-01T00:00:00Z", "data": {"qty": "0.1"}},
    separators=(",", ":"),
).encode()


def local_target(server, path="/hook", host="localhost") -> Target:
    return check_url(f"https://{host}:{server.port}{path}", allow_http=False, allowed_hosts=LOCAL)


def fake_dns(*addresses):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def signed(secret: str) -> dict[str, str]:
    return build_headers(new_message_id(), int(time.time()), BODY, [secret])


def test_success_delivers_exact_body_and_verifiable_signature(https_server, tls_ca_bundle):
    secret = generate_secret()
    headers = signed(secret)
    https_server.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)

    result = deliver(local_target(https_server), BODY, headers, ca_bundle=tls_ca_bundle)

    assert result.ok, result.error
    assert (result.status_code, result.error, result.gone) == (200, None, False)
    assert result.retry_after is None
    assert result.duration_ms >= 0
    [(request, _response)] = https_server.log
    assert request.get_data() == BODY
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert request.headers[name] == headers[name]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == headers["user-agent"]
    assert request.headers["Host"] == f"localhost:{https_server.port}"
    verify(secret, request.headers, request.get_data())


def test_query_string_is_sent(https_server, tls_ca_bundle):
    https_server.expect_request("/hook", query_string="token=abc").respond_with_data("ok")
    target = local_target(https_server, path="/hook?token=abc")
    result = deliver(target, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle)
    assert result.ok, result.error


def test_connects_to_checked_address_without_resolving_again(https_server, tls_ca_bundle):
    # "webhooks.test" exists only in this fake DNS answer (the reserved .test TLD never
    # resolves for real). 127.0.0.2 has no listener, so the second address is used.
    target = check_url(
        f"https://webhooks.test:{https_server.port}/hook",
        allow_http=False,
        allowed_hosts={"127.0.0.0/8"},
        resolver=fake_dns("127.0.0.2", "127.0.0.1"),
    )
    https_server.expect_request("/hook", method="POST").respond_with_data("ok")

    result = deliver(target, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle)

    assert result.ok, result.error
    [(request, _)] = https_server.log
    assert request.headers["Host"] == f"webhooks.test:{https_server.port}"


def test_server_error_is_a_failure_with_status_and_body_excerpt(https_server, tls_ca_bundle):
    https_server.expect_request("/hook").respond_with_data("database is down\n" * 50, status=500)

    result = deliver(
        local_target(https_server), BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle
    )

    assert not result.ok
    assert result.status_code == 500
    assert result.error.startswith("HTTP 500 Internal Server Error: database is down")
    assert len(result.error) < 260
    assert not result.gone
    assert result.retry_after is None


def test_error_never_contains_signature_or_secret(https_server, tls_ca_bundle):
    secret = generate_secret()
    headers = signed(secret)
    https_server.expect_request("/hook").respond_with_data("nope", status=400)
    result = deliver(local_target(https_server), BODY, headers, ca_bundle=tls_ca_bundle)
    assert result.error == "HTTP 400 Bad Request: nope"
    assert headers["webhook-signature"][3:20] not in result.error
    assert secret[6:20] not in result.error


def test_429_retry_after_seconds(https_server, tls_ca_bundle):
    https_server.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    result = deliver(
        local_target(https_server), BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle
    )
    assert (result.ok, result.status_code, result.retry_after) == (False, 429, 7.0)
    assert result.error.startswith("HTTP 429")


def test_503_retry_after_http_date(https_server, tls_ca_bundle):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    https_server.expect_request("/hook").respond_with_data(
        "", status=503, headers={"Retry-After": when}
    )
    result = deliver(
        local_target(https_server), BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle
    )
    assert result.status_code == 503
    assert 100 < result.retry_after <= 120
    assert result.error == "HTTP 503 Service Unavailable"


def test_410_means_gone(https_server, tls_ca_bundle):
    https_server.expect_request("/hook").respond_with_data("unsubscribed", status=410)
    result = deliver(
        local_target(https_server), BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle
    )
    assert (result.ok, result.status_code, result.gone) == (False, 410, True)


def test_redirect_is_not_followed(https_server, tls_ca_bundle):
    https_server.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": f"https://localhost:{https_server.port}/moved?t=x"}
    )
    https_server.expect_request("/moved").respond_with_data("should not be reached")

    result = deliver(
        local_target(https_server), BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle
    )

    assert not result.ok
    assert result.status_code == 302
    assert "not followed" in result.error
    assert f"https://localhost:{https_server.port}/moved" in result.error
    assert [req.path for req, _ in https_server.log] == ["/hook"]


def test_slow_receiver_times_out(https_server, tls_ca_bundle):
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("late")

    https_server.expect_request("/slow").respond_with_handler(slow)
    target = local_target(https_server, path="/slow")

    started = time.monotonic()
    result = deliver(target, BODY, signed(generate_secret()), timeout=0.5, ca_bundle=tls_ca_bundle)

    assert time.monotonic() - started < 1.4
    assert (result.ok, result.status_code) == (False, None)
    assert result.error == "timed out after 0.5 s"


def test_certificate_for_another_host_is_rejected(https_server, tls_ca_bundle):
    # The server's certificate does not cover "wrong.test"; TLS must fail even though the
    # address is the right one.
    target = check_url(
        f"https://wrong.test:{https_server.port}/hook",
        allow_http=False,
        allowed_hosts={"wrong.test"},
        resolver=fake_dns("127.0.0.1"),
    )
    https_server.expect_request("/hook").respond_with_data("ok")

    result = deliver(target, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle)

    assert (result.ok, result.status_code) == (False, None)
    assert result.error == (
        "TLS certificate verification failed: certificate is not valid for wrong.test"
    )
    assert https_server.log == []


def test_certificate_from_unknown_ca_is_rejected(https_server, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    https_server.expect_request("/hook").respond_with_data("ok")

    result = deliver(
        local_target(https_server), BODY, signed(generate_secret()), ca_bundle=str(other_ca)
    )

    assert (result.ok, result.status_code) == (False, None)
    assert result.error.startswith("TLS certificate verification failed: ")
    assert https_server.log == []


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections are refused, and nobody
    else can take the port while the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_connection_refused(closed_port, tls_ca_bundle):
    target = check_url(
        f"https://127.0.0.1:{closed_port}/hook", allow_http=False, allowed_hosts=LOCAL
    )
    result = deliver(target, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle)
    assert result == DeliveryResult(
        ok=False, status_code=None, error="connection refused", duration_ms=result.duration_ms
    )


def test_plain_http_when_allowed(closed_port):
    target = check_url(f"http://127.0.0.1:{closed_port}/", allow_http=True, allowed_hosts=LOCAL)
    result = deliver(target, BODY, signed(generate_secret()))
    assert result.error == "connection refused"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 120 ", 120.0), ("0", 0.0), ("-5", 0.0), ("soon", None), ("", None)],
)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0


def test_receiver_that_never_completes_tls_handshake_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts the TCP connection; nobody ever answers
        port = listener.getsockname()[1]
        target = check_url(f"https://127.0.0.1:{port}/hook", allow_http=False, allowed_hosts=LOCAL)
        started = time.monotonic()
        result = deliver(target, BODY, signed(generate_secret()), timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert (result.ok, result.error) == (False, "timed out after 0.3 s")


class _KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections open, as most real receivers do
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.connections.append(self.client_address)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def keepalive_server(tls_ca) -> Iterator[ThreadingHTTPServer]:
    """An HTTPS receiver that keeps connections alive and counts the ones it accepted."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveHandler)
    server.daemon_threads = True
    server.connections = []
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_shared_pools_reuse_a_connection_for_the_same_checked_destination_only(
    keepalive_server, tls_ca_bundle
):
    port = keepalive_server.server_address[1]
    by_name = check_url(f"https://localhost:{port}/a", allow_http=False, allowed_hosts=LOCAL)
    by_ip = check_url(f"https://127.0.0.1:{port}/b", allow_http=False, allowed_hosts=LOCAL)
    pools = ConnectionPools()
    try:
        for _ in range(5):
            result = deliver(
                by_ip, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle, pools=pools
            )
            assert result.ok, result.error
        assert len(keepalive_server.connections) == 1  # one TLS handshake for five webhooks

        # Same address and port, another host name: its own connection (and certificate check).
        result = deliver(
            by_name, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle, pools=pools
        )
        assert result.ok, result.error
        assert len(keepalive_server.connections) == 2
    finally:
        pools.close()


def test_without_shared_pools_every_call_closes_its_connection(keepalive_server, tls_ca_bundle):
    port = keepalive_server.server_address[1]
    target = check_url(f"https://127.0.0.1:{port}/a", allow_http=False, allowed_hosts=LOCAL)
    for _ in range(2):
        assert deliver(target, BODY, signed(generate_secret()), ca_bundle=tls_ca_bundle).ok
    assert len(keepalive_server.connections) == 2
