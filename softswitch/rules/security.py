"""Source security (SPEC §2.1): suspension after failed authentications, and whom to answer."""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class SourceGuard:
    """Counts failed authentications per source IP in a sliding window and suspends a source
    that reaches the limit (fail2ban's maxretry / findtime / bantime).

    SS_AUTHENTICATION_MAX_RETRY failures within SS_AUTHENTICATION_FAILED_WINDOW seconds suspend
    the IP for SS_AUTHENTICATION_FAILED_SUSPEND seconds; older failures no longer count; a
    successful authentication clears the count; a max_retry of 0 = unlimited (never suspend,
    nothing kept). Memory is bounded: at most max_retry timestamps per source, and a source
    whose last failure left the window is forgotten by `forget_expired`.
    """

    failures: dict[str, deque[float]] = field(default_factory=dict)
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

    def record_failure(
        self, ip: str, now: float, max_retry: int, suspend_seconds: int, window: float
    ) -> bool:
        """Count a failure at `now`; True if it is the max_retry-th within `window` seconds,
        which suspends the source."""
        if not max_retry:
            self.failures.pop(ip, None)
            return False
        times = self.failures.get(ip)
        if times is None or times.maxlen != max_retry:
            times = self.failures[ip] = deque(times or (), maxlen=max_retry)
        times.append(now)
        if len(times) == max_retry and now - times[0] < window:
            del self.failures[ip]
            self.suspended_until[ip] = now + suspend_seconds
            return True
        return False

    def record_success(self, ip: str) -> bool:
        """A successful authentication clears the source's failures: whether it had any."""
        return self.failures.pop(ip, None) is not None

    def forget_expired(self, now: float, window: float) -> None:
        """Housekeeping: drop suspensions that are over, and the failures of sources whose
        last failure is older than the window (they can no longer add up to a suspension)."""
        for ip in [ip for ip, until in self.suspended_until.items() if until <= now]:
            del self.suspended_until[ip]
        for ip in [ip for ip, times in self.failures.items() if now - times[-1] >= window]:
            del self.failures[ip]


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The trusted networks of SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS (already validated)."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def in_networks(ip: str, networks: tuple[Network, ...]) -> bool:
    """Whether the address lies in one of the networks."""
    if not networks:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in network for network in networks)
