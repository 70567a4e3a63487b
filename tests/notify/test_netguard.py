from __future__ import annotations

import re
import socket

import pytest

from webapp.notify.netguard import (
    ForbiddenAddressError,
    InvalidURLError,
    SchemeNotAllowedError,
    Target,
    UnresolvableHostError,
    UnsafeURLError,
    check_url,
    is_public_address,
)


def dns(*answers: str, calls: list | None = None):
    """A stand-in DNS with a fixed answer, injected through check_url's resolver argument."""

    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        if calls is not None:
            calls.append(host)
        result = []
        for address in answers:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if fam == socket.AF_INET6 else (address, port)
            result.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return result

    return resolve


def nxdomain(host, port, *args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def check(url, *, allow_http=False, allowed_hosts=(), resolver=None):
    kwargs = {"resolver": resolver} if resolver is not None else {}
    return check_url(url, allow_http=allow_http, allowed_hosts=allowed_hosts, **kwargs)


FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("198.18.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fe80::1", "link-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("64:ff9b:1::a00:5", "private"),
    ("100::1", "reserved"),
    # IPv4 hosts hiding in IPv6 forms are judged by the IPv4 address they reach.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.5", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:0:10.0.0.5", "private"),  # IPv4-translated
    ("64:ff9b::10.0.0.5", "private"),  # NAT64 well-known prefix
    ("2002:a00:5::1", "private"),  # 6to4 of 10.0.0.5
    ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible
]

PUBLIC = [
    "93.184.215.14",
    "1.1.1.1",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
]


@pytest.mark.parametrize(("address", "kind"), FORBIDDEN)
def test_hostname_resolving_to_non_public_address_is_refused(address, kind):
    with pytest.raises(ForbiddenAddressError) as info:
        check("https://example.internal/hook", resolver=dns(address))
    message = str(info.value)
    assert message.startswith(f"example.internal resolves to {address}, a")
    assert message.endswith("address; webhooks may only reach public addresses")
    assert kind in message
    assert info.value.address == address
    assert info.value.kind.startswith(kind)
    assert not is_public_address(address)


@pytest.mark.parametrize(("address", "kind"), FORBIDDEN)
def test_literal_non_public_ip_is_refused_with_real_resolver(address, kind):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(ForbiddenAddressError) as info:
        check(f"https://{host}:8443/hook")
    assert kind in str(info.value)
    assert "webhooks may only reach public addresses" in str(info.value)


def test_private_message_reads_well():
    with pytest.raises(ForbiddenAddressError) as info:
        check("https://example.internal/x", resolver=dns("10.0.0.5"))
    assert str(info.value) == (
        "example.internal resolves to 10.0.0.5, a private address; "
        "webhooks may only reach public addresses"
    )
    with pytest.raises(ForbiddenAddressError) as info:
        check("https://10.0.0.5/x")
    assert str(info.value) == (
        "10.0.0.5 is a private address; webhooks may only reach public addresses"
    )


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(address):
    target = check("https://hooks.example.com/in", resolver=dns(address))
    assert target.addresses == (address,)
    assert is_public_address(address)


def test_localhost_is_refused_with_real_resolver():
    with pytest.raises(ForbiddenAddressError, match=r"localhost resolves to .*a loopback"):
        check("https://localhost/hook")
    with pytest.raises(ForbiddenAddressError, match="loopback"):
        check("https://LocalHost./hook")


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(ForbiddenAddressError, match=re.escape("10.1.2.3")):
        check("https://mixed.example.com/", resolver=dns("8.8.8.8", "10.1.2.3"))


def test_target_fields_and_single_resolution():
    calls: list[str] = []
    target = check(
        "https://Hooks.Example.COM:8443/path/to?token=abc&x=1#frag",
        resolver=dns("93.184.215.14", "2606:4700:4700::1111", "93.184.215.14", calls=calls),
    )
    assert calls == ["hooks.example.com"]
    assert target == Target(
        scheme="https",
        host="hooks.example.com",
        port=8443,
        path="/path/to?token=abc&x=1",
        addresses=("93.184.215.14", "2606:4700:4700::1111"),
    )
    assert target.host_header == "hooks.example.com:8443"
    assert target.display_url == "https://hooks.example.com:8443/"


def test_default_port_and_path():
    target = check("https://hooks.example.com", resolver=dns("1.1.1.1"))
    assert (target.port, target.path, target.host_header) == (443, "/", "hooks.example.com")


def test_ipv6_literal_target():
    target = check("https://[2606:4700:4700::1111]:444/h", resolver=dns("2606:4700:4700::1111"))
    assert target.host == "2606:4700:4700::1111"
    assert target.host_header == "[2606:4700:4700::1111]:444"


def test_internationalised_hostname_is_sent_as_idna():
    calls: list[str] = []
    target = check("https://bücher.example/h", resolver=dns("1.1.1.1", calls=calls))
    assert target.host == "xn--bcher-kva.example"
    assert calls == ["xn--bcher-kva.example"]


def test_non_ascii_path_is_percent_encoded():
    target = check("https://hooks.example.com/é?q=ü", resolver=dns("1.1.1.1"))
    assert target.path == "/%C3%A9?q=%C3%BC"


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/x", "ftp://hooks.example.com/x", "hooks.example.com/x"]
)
def test_only_https_by_default(url):
    with pytest.raises(SchemeNotAllowedError) as info:
        check(url, resolver=dns("1.1.1.1"))
    assert str(info.value) == "Webhook URLs must use https://"


def test_http_allowed_when_operator_says_so():
    target = check("http://hooks.example.com/x", allow_http=True, resolver=dns("1.1.1.1"))
    assert (target.scheme, target.port, target.host_header) == ("http", 80, "hooks.example.com")
    with pytest.raises(SchemeNotAllowedError, match="https:// or http://"):
        check("gopher://hooks.example.com/", allow_http=True, resolver=dns("1.1.1.1"))


def test_http_does_not_bypass_address_checks():
    with pytest.raises(ForbiddenAddressError):
        check("http://127.0.0.1:8080/", allow_http=True)


def test_userinfo_is_refused_without_echoing_credentials():
    with pytest.raises(InvalidURLError) as info:
        check("https://alice:s3cr3t-pw@hooks.example.com/x", resolver=dns("1.1.1.1"))
    assert "user name or password" in str(info.value)
    assert "s3cr3t" not in str(info.value)
    assert "alice" not in str(info.value)


def test_errors_never_echo_path_or_query_tokens():
    for url in (
        "https://10.0.0.1/hooks/T0KEN-path?key=T0KEN-query",
        "https://internal.example/hooks/T0KEN-path?key=T0KEN-query",
    ):
        with pytest.raises(UnsafeURLError) as info:
            check(url, resolver=dns("10.0.0.1"))
        assert "T0KEN" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://",
        "https:///path",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com:0/",
        "https://hooks.example.com:port/",
        "https://hooks .example.com/",
        "https://hooks.example.com/a b",
        "https://evil.example\\@hooks.example.com/",
        "https://a..b/",
    ],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(InvalidURLError):
        check(url, resolver=dns("1.1.1.1"))


def test_unresolvable_host():
    with pytest.raises(UnresolvableHostError) as info:
        check("https://no-such-host.example/x?token=abc", resolver=nxdomain)
    assert str(info.value) == "could not resolve host no-such-host.example"
    with pytest.raises(UnresolvableHostError):
        check("https://empty-answer.example/", resolver=dns())


def test_allow_list_by_hostname_is_exact_and_case_insensitive():
    target = check(
        "https://Relay.Internal/x",
        allowed_hosts={"relay.internal"},
        resolver=dns("10.0.0.5", "fd00::5"),
    )
    assert target.addresses == ("10.0.0.5", "fd00::5")
    with pytest.raises(ForbiddenAddressError):
        check(
            "https://other.internal/x", allowed_hosts={"relay.internal"}, resolver=dns("10.0.0.5")
        )
    with pytest.raises(ForbiddenAddressError):
        check(
            "https://relay.internal.evil.com/x",
            allowed_hosts={"relay.internal"},
            resolver=dns("10.0.0.5"),
        )


def test_allow_list_by_cidr_and_ip():
    allowed = {"10.0.0.0/24", "fd00::/8", "192.168.1.7"}
    assert check("https://a.internal/", allowed_hosts=allowed, resolver=dns("10.0.0.99"))
    assert check("https://b.internal/", allowed_hosts=allowed, resolver=dns("fd00::1"))
    assert check("https://c.internal/", allowed_hosts=allowed, resolver=dns("192.168.1.7"))
    assert check("https://d.internal/", allowed_hosts=allowed, resolver=dns("::ffff:10.0.0.3"))
    with pytest.raises(ForbiddenAddressError, match=re.escape("10.0.1.1")):
        check("https://e.internal/", allowed_hosts=allowed, resolver=dns("10.0.1.1"))
    with pytest.raises(ForbiddenAddressError, match=re.escape("192.168.1.8")):
        check("https://f.internal/", allowed_hosts=allowed, resolver=dns("192.168.1.8"))


def test_allow_list_with_real_resolver_for_local_development():
    target = check("https://localhost:8443/x", allowed_hosts={"localhost"})
    assert target.host == "localhost"
    assert "127.0.0.1" in target.addresses
    target = check("https://127.0.0.1:8443/x", allowed_hosts={"127.0.0.1"})
    assert target.addresses == ("127.0.0.1",)
    target = check("https://[::1]:8443/x", allowed_hosts={"::1"})
    assert target.addresses == ("::1",)
