"""The client's IP address as the rate limits see it, behind Google's front end.

Cloud Functions (2nd gen) and Cloud Run sit behind Google's front end, which *appends* the
address it accepted the connection from to ``X-Forwarded-For``; whatever the client sent in
that header stays in front of it, unverified. So the client is the last entry when the
functions are called directly, and the second to last behind an external Application Load
Balancer (which appends the client, then its own address): ``client_ip_forwarded_position``
in Settings says which. Earlier entries are never trusted: a client can forge them.

IPv6 addresses are cut to their /64 prefix (one subscriber usually holds a whole /64, so a
client cannot step around a per-address limit), IPv4-mapped IPv6 is read as IPv4.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

__all__ = ["UNKNOWN", "HeaderLookup", "client_ip", "normalised_address"]


class HeaderLookup(Protocol):
    """Request headers (flask's, or a plain dict in tests), looked up case-insensitively
    by flask."""

    def get(self, key: str, /) -> str | None: ...


# Requests whose address cannot be read share one subject: they are limited together.
UNKNOWN = "unknown"


def client_ip(headers: HeaderLookup, remote_addr: str | None, position: int) -> str:
    """The client's address (IPv4, or an IPv6 /64 network) from the ``position``-th
    ``X-Forwarded-For`` entry counted from the end; ``remote_addr`` when the header has
    fewer entries or that entry is not an address; ``UNKNOWN`` when neither is."""
    if position < 1:
        raise ValueError("position counts from 1 (the last entry)")
    forwarded = headers.get("X-Forwarded-For") or ""
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if len(entries) >= position:
        found = normalised_address(entries[-position])
        if found is not None:
            return found
    return normalised_address(remote_addr or "") or UNKNOWN


def normalised_address(text: str) -> str | None:
    """``text`` as an IPv4 address or an IPv6 /64 network, or None if it is not an address.

    Accepts a port after IPv4 (``1.2.3.4:5678``) and bracketed IPv6 (``[2001:db8::1]:443``).
    """
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
