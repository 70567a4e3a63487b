"""Send one webhook POST to a destination already checked by ``netguard.check_url``.

The request goes to the *checked* IP addresses, never to a fresh DNS answer, so a hostname
that re-resolves to an internal address between check and delivery (DNS rebinding) cannot
redirect it. The hostname is still used for the ``Host`` header, TLS SNI and certificate
verification, so HTTPS stays as strict as a normal client's. Redirects are not followed (the
target of a redirect was never checked). Proxy environment variables are ignored on purpose.

Connections are kept alive in :class:`ConnectionPools`, keyed by the checked address *and* the
hostname, port and CA bundle, so a connection is only ever reused for exactly the destination
that was checked; a worker delivering many webhooks pays for a TLS handshake once per
destination instead of once per request.

:func:`deliver` never raises for network or HTTP problems: it returns a
:class:`DeliveryResult` whose ``error`` is short and fit to show to the user. Neither header
values (the signature) nor the URL's path and query (which may hold tokens) are ever put into
an error or a log line.
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import logging
import os
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_ import create_urllib3_context

from webapp.notify.netguard import Target

try:  # raised by urllib3's own hostname check (it does not use ssl's check_hostname)
    from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatchError
except ImportError:  # pragma: no cover - layout of a future urllib3
    HostnameMismatchError = ssl.CertificateError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
BODY_EXCERPT_CHARS = 200
_MAX_BODY_READ = 2048
#: A response body up to this size is read to the end so its connection can be reused; a
#: bigger (or slower) one costs the connection instead.
_KEEP_ALIVE_BODY = 64 * 1024


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of one delivery attempt.

    ``ok`` is true for 2xx only. ``retry_after`` (seconds) comes from a ``Retry-After`` header
    on 429/5xx answers; ``gone`` means the receiver answered 410 and wants no more webhooks
    (the caller should disable the endpoint).
    """

    ok: bool
    status_code: int | None
    error: str | None
    retry_after: float | None = None
    gone: bool = False
    duration_ms: int = 0


def _default_ca_bundle() -> str | None:
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with requests
        return None  # urllib3 then loads the system's default CAs
    return certifi.where()


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` value (delay in seconds or an HTTP-date) into seconds >= 0."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _excerpt(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    if len(text) > BODY_EXCERPT_CHARS:
        text = text[: BODY_EXCERPT_CHARS - 1].rstrip() + "…"
    return text


def _reason(status: int, reason: str | None) -> str:
    """``HTTP 500 Internal Server Error``: the standard phrase, else the server's own."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = " ".join((reason or "").split())[:60]
    return f"HTTP {status} {phrase}".rstrip()


def _safe_location(location: str | None) -> str:
    """The redirect target without user-info, query or fragment, shortened for display."""
    if not location:
        return ""
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        shown = f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path
    except ValueError:
        return ""
    shown = " ".join(shown.split())
    return shown[:120] + ("…" if len(shown) > 120 else "")


def _read_excerpt(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """Read at most a little of the body, and never past the deadline (a receiver trickling
    bytes must not hold a worker)."""
    data = b""
    try:
        while len(data) < _MAX_BODY_READ and time.monotonic() < deadline:
            chunk = response.read1(_MAX_BODY_READ - len(data), decode_content=False)
            if not chunk:
                break
            data += chunk
    except (HTTPError, OSError):
        pass
    return data


def _connect_error(exc: BaseException, timeout: float) -> str:
    """Describe a failure to open the TCP connection."""
    if isinstance(exc, NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        code = getattr(cause, "errno", None)
        if isinstance(cause, ConnectionRefusedError) or code == errno.ECONNREFUSED:
            return "connection refused"
        if code == errno.ENETUNREACH:
            return "network unreachable"
        if code == errno.EHOSTUNREACH:
            return "host unreachable"
        if isinstance(cause, TimeoutError):
            return f"timed out after {_format_seconds(timeout)}"
        return "could not connect"
    return f"timed out after {_format_seconds(timeout)}"


def _tls_error(exc: SSLError, host: str) -> str:
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, HostnameMismatchError):
            return f"TLS certificate verification failed: certificate is not valid for {host}"
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = " ".join(str(cause.verify_message or "").split())
            return "TLS certificate verification failed" + (f": {detail}" if detail else "")
        cause = cause.__cause__ or cause.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "TLS certificate verification failed"
    return "TLS handshake failed"


def _result_from_response(
    response: urllib3.BaseHTTPResponse, deadline: float, started: float
) -> DeliveryResult:
    status = response.status
    label = _reason(status, response.reason)
    if 200 <= status < 300:
        return DeliveryResult(
            ok=True, status_code=status, error=None, duration_ms=_elapsed_ms(started)
        )
    if 300 <= status < 400:
        location = _safe_location(response.headers.get("Location"))
        target = f" to {location}" if location else ""
        error = f"{label}: redirect{target} not followed; set the webhook URL to the final address"
    else:
        excerpt = _excerpt(_read_excerpt(response, deadline))
        error = f"{label}: {excerpt}" if excerpt else label
    retry_after = None
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return DeliveryResult(
        ok=False,
        status_code=status,
        error=error,
        retry_after=retry_after,
        gone=status == 410,
        duration_ms=_elapsed_ms(started),
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class ConnectionPools:
    """Keep-alive connection pools for checked webhook destinations, shared by threads.

    A pool is keyed by scheme, checked IP address, port, hostname (Host header, SNI and
    certificate check) and CA bundle: a connection opened for one checked destination is
    never used for another. At most `max_pools` pools are kept (least recently used first
    out); each keeps up to `maxsize` idle connections and opens more when all are busy.
    A pool is never shared across a fork (see :func:`shared_pools`).
    """

    def __init__(self, maxsize: int = 8, max_pools: int = 128) -> None:
        self.maxsize = maxsize
        self.max_pools = max_pools
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def get(
        self, target: Target, address: str, ca_bundle: str | None
    ) -> urllib3.HTTPConnectionPool:
        bundle = ca_bundle or _default_ca_bundle() or ""
        key = (target.scheme, address, target.port, target.host, bundle)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._new_pool(target, address, bundle)
            self._pools[key] = pool
            while len(self._pools) > self.max_pools:
                _key, old = self._pools.popitem(last=False)
                old.close()
            return pool

    def _new_pool(self, target: Target, address: str, bundle: str) -> urllib3.HTTPConnectionPool:
        if target.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address,
                target.port,
                maxsize=self.maxsize,
                block=False,
                retries=False,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                ssl_context=self._context(bundle),
            )
        return urllib3.HTTPConnectionPool(
            address, target.port, maxsize=self.maxsize, block=False, retries=False
        )

    def _context(self, bundle: str) -> ssl.SSLContext:
        """One verifying TLS context per CA bundle (loading certifi's bundle costs more than a
        handshake, so it is done once, not per connection)."""
        context = self._contexts.get(bundle)
        if context is None:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            context.check_hostname = False  # urllib3 matches assert_hostname itself
            context.hostname_checks_common_name = False
            if bundle:
                context.load_verify_locations(cafile=bundle)
            else:  # pragma: no cover - certifi comes with requests
                context.load_default_certs()
            self._contexts[bundle] = context
        return context

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


_shared: tuple[int, ConnectionPools] | None = None
_shared_lock = threading.Lock()


def shared_pools(maxsize: int = 8) -> ConnectionPools:
    """This process's pools (a forked child gets new ones: sockets must not be shared)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), ConnectionPools(maxsize=maxsize))
        return _shared[1]


def _finish_response(response: urllib3.BaseHTTPResponse, deadline: float) -> None:
    """Hand the connection back for reuse if the whole (small) body arrives before the
    deadline; otherwise close it. Either way the pool gets its slot back."""
    try:
        read = 0
        while read <= _KEEP_ALIVE_BODY and time.monotonic() < deadline:
            chunk = response.read1(_MAX_BODY_READ, decode_content=False)
            if not chunk:
                break
            read += len(chunk)
    except (HTTPError, OSError):
        pass
    if not response.closed:
        response.close()  # unread bytes left on the connection: it cannot be reused
    response.release_conn()


def deliver(
    target: Target,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ca_bundle: str | None = None,
    pools: ConnectionPools | None = None,
) -> DeliveryResult:
    """POST ``body`` with ``headers`` to ``target`` and report what happened.

    Connects to ``target.addresses`` in order, moving to the next one only when a connection
    cannot be opened (nothing was sent yet). ``timeout`` bounds the whole call, connection and
    response together. ``ca_bundle`` replaces the default CA certificates (certifi's).
    With ``pools`` the connection is kept alive for the next call to the same destination;
    without, it is closed afterwards.
    """
    if pools is None:
        own = ConnectionPools(maxsize=1)
        try:
            return deliver(target, body, headers, timeout=timeout, ca_bundle=ca_bundle, pools=own)
        finally:
            own.close()
    started = time.monotonic()
    deadline = started + timeout
    request_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    request_headers["Host"] = target.host_header
    error = "could not connect"
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = f"timed out after {_format_seconds(timeout)}"
            break
        pool = pools.get(target, address, ca_bundle)
        response = None
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=request_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=remaining, read=remaining),
            )
            result = _result_from_response(response, deadline, started)
        except (NewConnectionError, ConnectTimeoutError) as exc:
            # Nothing reached the receiver: the next address may work.
            error = _connect_error(exc, timeout)
            logger.info("webhook to %s via %s: %s", target.host, address, error)
            continue
        except ReadTimeoutError:
            result = _failure(f"timed out after {_format_seconds(timeout)}", started)
        except SSLError as exc:
            result = _failure(_tls_error(exc, target.host), started)
        except ProtocolError as exc:
            cause = exc.args[1] if len(exc.args) > 1 else None
            if isinstance(cause, TimeoutError):
                message = f"timed out after {_format_seconds(timeout)}"
            elif isinstance(cause, http.client.RemoteDisconnected):
                message = "the receiver closed the connection without answering"
            elif isinstance(cause, ConnectionResetError):
                message = "connection reset by the receiver"
            elif isinstance(cause, http.client.HTTPException):
                message = "the receiver's answer is not valid HTTP"
            else:
                message = "connection closed before a complete response"
            result = _failure(message, started)
        except (HTTPError, OSError) as exc:
            result = _failure(f"request failed ({type(exc).__name__})", started)
        except Exception as exc:  # never let one bad endpoint crash a worker
            logger.error("unexpected %s delivering webhook to %s", type(exc).__name__, target.host)
            result = _failure(f"request failed ({type(exc).__name__})", started)
        finally:
            if response is not None:
                _finish_response(response, deadline)
        _log_result(target, address, result)
        return result
    result = _failure(error, started)
    _log_result(target, None, result)
    return result


def _failure(error: str, started: float) -> DeliveryResult:
    return DeliveryResult(ok=False, status_code=None, error=error, duration_ms=_elapsed_ms(started))


def _log_result(target: Target, address: str | None, result: DeliveryResult) -> None:
    if result.ok:
        logger.info(
            "webhook delivered to %s (%s) HTTP %s in %d ms",
            target.host,
            address,
            result.status_code,
            result.duration_ms,
        )
    else:
        logger.warning(
            "webhook to %s (%s) failed in %d ms: %s",
            target.host,
            address,
            result.duration_ms,
            result.error,
        )
