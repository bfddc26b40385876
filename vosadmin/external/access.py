"""Who is calling the Web API: the source address and the Web access rule that admits it.

The source is the TCP peer (`REMOTE_ADDR`). Behind a TLS proxy every request comes from the
proxy, so `EXTERNAL_API_TRUSTED_PROXIES` lists the proxies (addresses or networks) whose
`X-Forwarded-For` is believed: the source is then the right-most address of that header that
is not itself a trusted proxy. A request from anywhere else is judged by its peer address, so a
client cannot pick its own source by sending the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from vosadmin.external.models import WebAccessRule

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address | None:
    """An IP address, or None for anything else (an IPv4-mapped IPv6 address counts as IPv4)."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_trusted_proxy(address: Address) -> bool:
    """Whether `address` is one of EXTERNAL_API_TRUSTED_PROXIES."""
    networks = (ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies())
    return any(address in network for network in networks)


def trusted_proxies() -> Iterable[str]:
    return getattr(settings, "EXTERNAL_API_TRUSTED_PROXIES", ())


def source_address(request: HttpRequest) -> Address | None:
    """The address the request is judged by (see the module docstring); None if unknown."""
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    if peer is None or not is_trusted_proxy(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = parse_address(hop)
        if address is None:
            return None  # a mangled header: judge nobody by it
        if not is_trusted_proxy(address):
            return address
    return peer


def admitting_rule(path: str, address: Address | None) -> WebAccessRule | None:
    """The first rule (longest path prefix first) that lets `address` call `path`, or None."""
    if address is None:
        return None
    rules = WebAccessRule.objects.order_by("-path", "id")
    return next((rule for rule in rules if rule.admits(path, address)), None)
