"""Source security (SPEC §2.1): suspension after failed authentications, and whom to answer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class SourceGuard:
    """Counts failed authentications per source IP and suspends a source that reaches the limit.

    SS_AUTHENTICATION_MAX_RETRY failures suspend the IP for SS_AUTHENTICATION_FAILED_SUSPEND
    seconds; a successful authentication clears the count; 0 = unlimited (never suspend).
    """

    failures: dict[str, int] = field(default_factory=dict)
    suspended_until: dict[str, float] = field(default_factory=dict)

    def is_suspended(self, ip: str, now: float) -> bool:
        """Whether everything from this IP must be ignored right now."""
        until = self.suspended_until.get(ip)
        if until is None:
            return False
        if now < until:
            return True
        del self.suspended_until[ip]
        return False

    def record_failure(self, ip: str, now: float, max_retry: int, suspend_seconds: int) -> bool:
        """Count a failure; True if this one suspends the source."""
        count = self.failures.get(ip, 0) + 1
        if max_retry and count >= max_retry:
            self.failures.pop(ip, None)
            self.suspended_until[ip] = now + suspend_seconds
            return True
        self.failures[ip] = count
        return False

    def record_success(self, ip: str) -> None:
        """A successful authentication clears the source's failures."""
        self.failures.pop(ip, None)

    def forget_expired(self, now: float) -> None:
        """Drop suspensions that are over (housekeeping)."""
        for ip in [ip for ip, until in self.suspended_until.items() if until <= now]:
            del self.suspended_until[ip]


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The trusted networks of SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS (already validated)."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def in_networks(ip: str, networks: tuple[Network, ...]) -> bool:
    """Whether the address lies in one of the networks."""
    if not networks:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in network for network in networks)
