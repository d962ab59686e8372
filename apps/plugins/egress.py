"""The egress policy: where a plugin may open a network connection (ADR 0017).

Every plugin connection (HTTP, webhooks, SQL, Redis, SMTP) asks `resolve()` first. The policy is
one decision in one place:

- the scheme must be one the plugin declares (HTTP tasks: http, https), and the port one of its
  ports when it declares any;
- the host is resolved once, and every address it resolves to must be a public unicast address:
  private (RFC 1918, ULA), loopback, link-local (so cloud metadata at 169.254.169.254),
  shared-address, multicast, reserved and unspecified addresses are refused, IPv4-mapped IPv6
  addresses are judged by their IPv4 address;
- `WEIR_EGRESS_ALLOW` (comma-separated host names, IP addresses or CIDR blocks, read at each
  check) opens exceptions: a listed host name admits whatever it resolves to, a listed address or
  block admits the addresses inside it.

The caller then connects to the returned, already-checked address (not to the name again), so a
second DNS answer cannot swap a public address for an internal one between check and connect.
HTTP clients call `resolve()` again at every redirect hop.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ENV = "WEIR_EGRESS_ALLOW"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not "private" to ipaddress
_EC2_V6_METADATA = ipaddress.ip_network("fd00:ec2::/32")


class EgressDenied(Exception):
    """A connection the policy refuses; the message names the rule and how to open it."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked destination: connect to `address`, present `host` (Host header, SNI)."""

    scheme: str
    host: str
    port: int
    address: str


def allow_list(raw: str | None = None) -> tuple[frozenset[str], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    """The host names and networks of `WEIR_EGRESS_ALLOW` (or of `raw`)."""
    text = os.environ.get(ENV, "") if raw is None else raw
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
        except ValueError:
            names.add(item.lower().rstrip("."))
    return frozenset(names), tuple(networks)


def _plain(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def internal(address: IPAddress) -> bool:
    """True for an address a plugin must not reach by default (anything but public unicast)."""
    ip = _plain(address)
    return bool(
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified or ip in _SHARED or ip in _EC2_V6_METADATA or not ip.is_global
    )


def _resolve_all(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise EgressDenied(f"cannot resolve host {host!r}: {error.strerror}") from error
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in seen:
            seen.append(address)
    return seen


def resolve(url: str, schemes: Iterable[str], ports: Iterable[int] = (), default_ports: dict[str, int] | None = None,
            what: str = "connection") -> Target:
    """Check `url` against the policy and return the address to connect to.

    Raises `EgressDenied` ("scheme not allowed", "destination not allowed") before any socket to
    the destination is opened.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed_schemes = tuple(s.lower() for s in schemes)
    if scheme not in allowed_schemes:
        raise EgressDenied(f"scheme not allowed: {scheme or '(none)'}:// in {what} (allowed: "
                           f"{', '.join(allowed_schemes)})")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise EgressDenied(f"destination not allowed: {url!r} names no host")
    try:
        port = parts.port or (default_ports or {}).get(scheme) or {"http": 80, "https": 443}.get(scheme, 0)
    except ValueError as error:
        raise EgressDenied(f"destination not allowed: invalid port in {url!r}") from error
    return check_host(scheme, host, int(port), ports, what)


def check_host(scheme: str, host: str, port: int, ports: Iterable[int] = (), what: str = "connection") -> Target:
    """`resolve()` for a host and port given separately (database and SMTP settings)."""
    host = host.lower().strip("[]").rstrip(".")
    port_list = tuple(ports)
    if port_list and port not in port_list:
        raise EgressDenied(f"destination not allowed: port {port} for {what} (allowed: "
                           f"{', '.join(map(str, port_list))})")
    names, networks = allow_list()
    addresses = _resolve_all(host, port)
    if not addresses:
        raise EgressDenied(f"cannot resolve host {host!r}")
    if host in names:
        return Target(scheme, host, port, addresses[0])
    for text in addresses:
        address = ipaddress.ip_address(text)
        if internal(address) and not any(_plain(address) in net or address in net for net in networks):
            shown = host if host == text else f"{host} ({text})"
            raise EgressDenied(
                f"destination not allowed: {shown} is a private, loopback, link-local or metadata address; "
                f"add it to {ENV} (host names, IPs or CIDRs, comma-separated) to allow it"
            )
    return Target(scheme, host, port, addresses[0])
