"""Source addresses of mapping gateways: `1.2.3.4`, `2001:db8::1`, `1.2.3.4:5070`, `[::1]:5070`;
hosts of routing gateways: an IP literal or a DNS host name (`sbc.example.net`).

Pure functions shared by model validation and the SIP engine (source lookup, name resolution).
"""

from __future__ import annotations

import ipaddress
import re

DEFAULT_SIP_PORT = 5060


def parse_source_address(text: str) -> tuple[str, int | None]:
    """Split an address entry into (canonical IP, port or None); ValueError if malformed."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: a bracketed IPv6 address needs a port, e.g. [::1]:5060")
        return str(ipaddress.ip_address(host)), _port(rest[1:], text)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return str(ipaddress.ip_address(host)), _port(port, text)
    return str(ipaddress.ip_address(text)), None


def source_key(text: str, with_port: bool) -> tuple[str, int | None]:
    """The lookup key of an entry: (ip, None) in IP mode, (ip, port) in IP-and-port mode."""
    ip, port = parse_source_address(text)
    if not with_port:
        return ip, None
    return ip, port or DEFAULT_SIP_PORT


def _port(text: str, entry: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(text)


def keys_clash(first: set[tuple[str, int | None]], second: set[tuple[str, int | None]]) -> bool:
    """Whether two gateways' source keys claim a common source: the same (ip, port), or an IP
    that one of them claims on every port (port None)."""
    if first & second:
        return True
    shared_ips = {ip for ip, _ in first} & {ip for ip, _ in second}
    return any((ip, None) in first or (ip, None) in second for ip in shared_ips)


# Routing gateway hosts: an IP literal or an RFC 1123 host name -----------------------------

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
MAX_HOST_NAME = 253


def ip_literal(text: str) -> str | None:
    """The canonical IP address if `text` is an IPv4 or IPv6 literal, else None."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def host_error(text: str) -> str | None:
    """Why `text` is not a usable host (an IP literal or a DNS host name), or None if it is.

    Names follow RFC 1123 §2.1: dot-separated labels of 1–63 letters, digits and inner hyphens,
    253 characters at most, an optional final dot; a name whose last label is all digits is
    taken for a malformed IPv4 address (`192.0.2.300`).
    """
    if ip_literal(text) is not None:
        return None
    name = text[:-1] if text.endswith(".") else text
    if not name:
        return "Enter an IP address or a host name."
    if len(name) > MAX_HOST_NAME:
        return f"A host name has at most {MAX_HOST_NAME} characters."
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return (
            "Enter an IP address or a host name (letters, digits and hyphens in dot-separated "
            "labels of at most 63 characters, no spaces)."
        )
    if labels[-1].isdigit():
        return "Enter a valid IP address."
    return None
