"""Source addresses of mapping gateways: `1.2.3.4`, `2001:db8::1`, `1.2.3.4:5070`, `[::1]:5070`.

Pure functions shared by model validation and the SIP engine's source lookup.
"""

from __future__ import annotations

import ipaddress

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
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(text)


def keys_clash(first: set[tuple[str, int | None]], second: set[tuple[str, int | None]]) -> bool:
    """Whether two gateways' source keys claim a common source: the same (ip, port), or an IP
    that one of them claims on every port (port None)."""
    if first & second:
        return True
    shared_ips = {ip for ip, _ in first} & {ip for ip, _ in second}
    return any((ip, None) in first or (ip, None) in second for ip in shared_ips)
