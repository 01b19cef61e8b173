"""Where a webhook may be sent: no internal addresses (SSRF) unless the host is allowed."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (socket.getaddrinfo's, narrowed); unit tests
# pass their own.
Resolver = Callable[[str, int], list[str]]
# NAT64 (RFC 6052) embeds an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class RefusedTarget(InvalidInput):
    """A webhook URL we will not send to; `errors` says why, for the `url` field."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"webhook url refused: {reason}", {"url": [reason]})
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked URL: the host to name (Host header, TLS SNI) and the addresses to dial."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    allowed_host: bool


def allowed_patterns(setting: str) -> list[str]:
    """WEBHOOK_ALLOWED_HOSTS as a list of lower-case names and `*.domain` patterns."""
    return [p.strip().lower().rstrip(".") for p in setting.split(",") if p.strip()]


def host_is_allowed(host: str, patterns: Iterable[str]) -> bool:
    """True if `host` is listed, or is under a listed `*.domain` (not the domain itself)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 one carries (mapped, 6to4, Teredo, NAT64): each is checked."""
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found += list(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def is_public(address: IPAddress) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified, shared
    (CGNAT) and other non-global addresses, and for IPv6 addresses embedding one."""
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(is_public(embedded) for embedded in _embedded_ipv4(address))
    return True


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host:port (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedTarget(f"the host {host!r} does not resolve ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(
    url: str, allowed_hosts: Iterable[str], resolver: Resolver = system_resolver
) -> Target:
    """The target of `url` if we may send to it, else RefusedTarget saying why. Every
    address the host resolves to must be public unless the host is on the allow-list;
    https is required unless it is."""
    scheme, host, port = _parts(url)
    allowed = host_is_allowed(host, allowed_hosts)
    if scheme != "https" and not allowed:
        raise RefusedTarget("https is required (http only for hosts in WEBHOOK_ALLOWED_HOSTS)")
    literal = _literal(host)
    addresses = [str(literal)] if literal is not None else resolver(host, port)
    if not addresses:
        raise RefusedTarget(f"the host {host!r} does not resolve")
    if not allowed:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not is_public(address):
                raise RefusedTarget(
                    f"{host} resolves to {address}, an internal address "
                    "(loopback, private, link-local, multicast or reserved); "
                    "list the host in WEBHOOK_ALLOWED_HOSTS to allow it"
                )
    return Target(url, scheme, host, port, tuple(addresses), allowed)


def _parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedTarget("the URL must start with https://")
    if not parts.hostname:
        raise RefusedTarget("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("credentials in the URL are not allowed: put a token in the path")
    if parts.fragment:
        raise RefusedTarget("the URL must not have a #fragment")
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    """The host as an IP address if it is one (brackets already stripped by urlsplit)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
