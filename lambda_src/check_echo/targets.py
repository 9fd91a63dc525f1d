"""Where a probe may go: a host name in its ASCII form, and only to public addresses.

Unless private targets are allowed, the host of every URL (the pulse's and
each redirect's) is resolved first and refused when any of its addresses is
not public. Known gap: urllib3 resolves the name again to connect, so a DNS
server that answers differently the second time (DNS rebinding) can still
steer the probe to a private address (see probe.py).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from pulse_echo import reasons

from .failures import ProbeFailure


def ascii_url(url: str) -> str:
    """Return ``url`` with a non-ASCII host name in its ASCII form (``bücher.example`` →
    ``xn--bcher-kva.example``); any other URL unchanged.

    Uses Python's ``idna`` codec (IDNA 2003), the one socket.getaddrinfo
    applies to such a name: urllib3 needs the third-party ``idna`` module for
    it, which the Lambda runtimes do not ship. Raises ProbeFailure ``dns``
    for a name with no ASCII form (an empty label, one over 63 characters).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.isascii():
        return url
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ProbeFailure(
            reasons.DNS, f"cannot resolve {host}: not a valid internationalised name ({exc})"
        ) from None
    userinfo, at, _ = parts.netloc.rpartition("@")
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{ascii_host}{port}"))


def check_public_target(url: str) -> None:
    """Resolve the host of ``url`` and refuse it unless every address is public.

    Raises ProbeFailure ``private_target`` naming the first non-public
    address, or ``dns`` when the name does not resolve. Uses
    ``socket.getaddrinfo`` as urllib3 does, so IP literals pass through.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProbeFailure(reasons.DNS, f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not is_public_address(address):
            named = host if str(address) == host else f"{host} resolves to {address}, which"
            raise ProbeFailure(
                reasons.PRIVATE_TARGET,
                f"{named} is not a public address; to probe internal services, set the module input "
                "allow_private_targets = true (ALLOW_PRIVATE_TARGETS)",
            )


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``address`` is globally routable: not loopback, link-local, private, reserved...

    ``is_global`` alone lets multicast, IPv6 site-local and 6to4 through, so
    those are checked too; an IPv4 address embedded in an IPv6 one
    (``::ffff:a.b.c.d``, 6to4 ``2002::/16``) must be public as well. Covers
    169.254.169.254 and fd00:ec2::254 (the instance metadata service).
    """
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        addresses = [address.ipv4_mapped]  # the IPv4 address is what gets connected to
    elif isinstance(address, ipaddress.IPv6Address) and address.sixtofour:
        addresses.append(address.sixtofour)
    return all(
        candidate.is_global
        and not (
            candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_private
            or candidate.is_reserved
            or candidate.is_multicast
            or candidate.is_unspecified
            or getattr(candidate, "is_site_local", False)
        )
        for candidate in addresses
    )
