"""SSRF protection for user-supplied webhook URLs.

A webhook URL is chosen by the user, but the request is sent from inside our network, so a URL
such as ``https://169.254.169.254/`` or a hostname whose DNS answer is ``10.0.0.5`` would let
anyone probe or poke internal services. :func:`check_url` therefore resolves the host once and
refuses the URL unless every address is public. The caller then connects to exactly those
addresses (see ``webhook_client.deliver``) so a second, different DNS answer (DNS rebinding)
cannot redirect the request.

Operators can allow internal targets explicitly with ``allowed_hosts`` (hostnames, IP
addresses or CIDR networks). Error messages are shown to users: they name the host and the
offending address but never repeat the URL, whose user-info, path or query may hold secrets.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import string
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from webapp.i18n.current import gettext as _
from webapp.i18n.marks import N_

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., Any]

DEFAULT_PORTS = {"https": 443, "http": 80}


class UnsafeURLError(ValueError):
    """A webhook URL we refuse to call; ``str(error)`` is a message fit for the user, in
    English (logs, the API, a delivery's stored error), `shown()` the same in the reader's
    language. A message with values is a template: `%(host)s` and so on."""

    def __init__(self, message: str, **values: str) -> None:
        super().__init__(message % values if values else message)
        self.message = str(self)
        self.template = message
        self.values = values

    def shown(self) -> str:
        values = dict(self.values)
        if "kind" in values:
            name = KIND_NAMES.get(values["kind"])
            values["kind"] = _(name) if name else values["kind"]
        return _(self.template, **values)


class InvalidURLError(UnsafeURLError):
    """The URL is malformed, has no host, or carries a user name/password."""


class SchemeNotAllowedError(UnsafeURLError):
    """The URL is not https:// (or http:// when the operator allows it)."""


class UnresolvableHostError(UnsafeURLError):
    """DNS gave no address for the host; possibly temporary, so callers may retry later."""


class ForbiddenAddressError(UnsafeURLError):
    """The host is, or resolves to, a non-public address that is not allow-listed; ``kind`` is
    e.g. ``"private"`` or ``"loopback"``."""

    def __init__(self, message: str, *, host: str, address: str, kind: str) -> None:
        super().__init__(message, host=host, address=address, kind=kind)
        self.host = host
        self.address = address
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """A checked webhook destination: connect to ``addresses`` (never re-resolve ``host``),
    send ``Host``/SNI/certificate checks for ``host``."""

    scheme: str
    host: str  # lower-case ASCII (IDNA) hostname or IP literal without brackets
    port: int
    path: str  # path with "?query", always starting with "/"
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        """Value of the ``Host`` header: ``host`` (bracketed if IPv6) plus a non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def display_url(self) -> str:
        """The URL without its path and query, safe to log or show (they may hold tokens)."""
        return f"{self.scheme}://{self.host_header}/"


# Ordered: the first matching network names the kind of address in error messages.
_FORBIDDEN_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), kind)
    for cidr, kind in (
        # IPv4
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT (shared)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        # IPv6 (IPv4-mapped, -translated, NAT64 and 6to4 forms are unwrapped before this)
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "reserved"),  # deprecated IPv4-compatible addresses
        ("64:ff9b:1::/48", "private"),  # local-use NAT64 (RFC 8215)
        ("100::/64", "reserved"),  # discard-only
        ("2001::/23", "reserved"),  # IETF protocol assignments, incl. Teredo
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved"),  # SRv6 SIDs
        ("fc00::/7", "private"),  # unique local addresses
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # deprecated site-local
        ("ff00::/8", "multicast"),
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that reach IPv4
    hosts (``::ffff:a.b.c.d``, ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``, 6to4)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _IPV4_TRANSLATED or ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def _parse(address: str | IPAddress) -> IPAddress:
    """Parse an address, dropping any IPv6 scope id ("fe80::1%eth0")."""
    if isinstance(address, str):
        return ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(int(address))
    return address


def _unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return embedded
    return ip


def address_kind(address: str | IPAddress) -> str | None:
    """Return why ``address`` is not public (e.g. ``"private"``), or ``None`` if it is."""
    ip = _unwrap(_parse(address))
    for network, kind in _FORBIDDEN_NETWORKS:
        if ip.version == network.version and ip in network:
            return kind
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if not ip.is_global:
        return "reserved"
    return None


def is_public_address(address: str | IPAddress) -> bool:
    """True if webhooks may reach ``address`` without an allow-list entry."""
    return address_kind(address) is None


class _AllowList:
    def __init__(self, entries: Collection[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().strip("[]").rstrip(".").lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry)

    def allows_host(self, host: str) -> bool:
        return host in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = {ip, _unwrap(ip)}
        return any(c.version == n.version and c in n for c in candidates for n in self.networks)


_URL_FORBIDDEN_CHARS = frozenset(chr(c) for c in range(0x21)) | {"\x7f", "\\"}
_PATH_SAFE = "".join(
    sorted(set(string.punctuation) - {'"', "<", ">", "\\", "^", "`", "{", "|", "}"})
)


#: How a refused address is named on a page.
KIND_NAMES = {
    "unspecified": N_("unspecified"),
    "private": N_("private"),
    "carrier-grade NAT (shared)": N_("carrier-grade NAT (shared)"),
    "loopback": N_("loopback"),
    "link-local": N_("link-local"),
    "reserved": N_("reserved"),
    "documentation": N_("documentation"),
    "multicast": N_("multicast"),
    "broadcast": N_("broadcast"),
}
IS_A = N_("%(host)s is a %(kind)s address; webhooks may only reach public addresses")
IS_AN = N_("%(host)s is an %(kind)s address; webhooks may only reach public addresses")
RESOLVES_TO_A = N_(
    "%(host)s resolves to %(address)s, a %(kind)s address; webhooks may only reach public addresses"
)
RESOLVES_TO_AN = N_(
    "%(host)s resolves to %(address)s, an %(kind)s address; "
    "webhooks may only reach public addresses"
)
NO_HOST = N_("Webhook URL has no host name")
NOT_RESOLVED = N_("could not resolve host %(host)s")


def _scheme_message(allow_http: bool) -> str:
    if allow_http:
        return N_("Webhook URLs must use https:// or http://")
    return N_("Webhook URLs must use https://")


def _normalise_host(hostname: str) -> str:
    host = hostname.rstrip(".").lower()
    if not host:
        raise InvalidURLError(NO_HOST)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return host
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidURLError(N_("Webhook URL has an invalid host name")) from None


def check_url(
    url: str,
    *,
    allow_http: bool,
    allowed_hosts: Collection[str],
    resolver: Resolver = socket.getaddrinfo,
) -> Target:
    """Validate ``url`` and resolve its host once; return a :class:`Target` to deliver to.

    ``resolver`` has the signature of :func:`socket.getaddrinfo` and is called exactly once.
    Raises an :class:`UnsafeURLError` subclass with a user-facing message.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError(N_("Webhook URL is empty"))
    url = url.strip()
    if any(ch in _URL_FORBIDDEN_CHARS for ch in url):
        raise InvalidURLError(N_("Webhook URL contains spaces or invalid characters"))
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        netloc = parts.netloc
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        raise InvalidURLError(
            N_("Webhook URL is not a valid URL (check the host and port)")
        ) from None

    if scheme not in DEFAULT_PORTS or (scheme == "http" and not allow_http):
        raise SchemeNotAllowedError(_scheme_message(allow_http))
    if "@" in netloc:
        raise InvalidURLError(N_("Webhook URLs must not contain a user name or password"))
    if not hostname:
        raise InvalidURLError(NO_HOST)
    host = _normalise_host(hostname)
    if port is None:
        port = DEFAULT_PORTS[scheme]
    if port == 0:
        raise InvalidURLError(N_("Webhook URL has an invalid port"))

    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if not path.startswith("/"):
        path = "/" + path
    if parts.query:
        path += "?" + quote(parts.query, safe=_PATH_SAFE)

    allow = _AllowList(allowed_hosts)
    addresses = _resolve(host, port, resolver)
    try:
        host_ip: IPAddress | None = _parse(host)
    except ValueError:
        host_ip = None
    if not allow.allows_host(host):
        for address in addresses:
            ip = _parse(address)
            kind = address_kind(ip)
            if kind is None or allow.allows_address(ip):
                continue
            vowel = kind[0] in "aeiou"
            if ip == host_ip:
                message = IS_AN if vowel else IS_A
            else:
                message = RESOLVES_TO_AN if vowel else RESOLVES_TO_A
            logger.info("refused webhook target %s: %s address %s", host, kind, address)
            raise ForbiddenAddressError(message, host=host, address=address, kind=kind)
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


def _resolve(host: str, port: int, resolver: Resolver) -> tuple[str, ...]:
    try:
        infos = resolver(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise UnresolvableHostError(NOT_RESOLVED, host=host) from None
    addresses: list[str] = []
    for info in infos or ():
        family, sockaddr = info[0], info[4]
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        try:
            _parse(address)
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnresolvableHostError(NOT_RESOLVED, host=host)
    return tuple(addresses)
