"""Routing gateways' hosts to addresses, without ever blocking the event loop.

A host is an IP literal (used as is) or a DNS host name, looked up with `loop.getaddrinfo`
(a worker thread) under a timeout. Answers are cached: an address for `ttl` seconds, a failed
lookup for `negative_ttl` seconds, so a dead name costs one lookup per period, not one per call.
Concurrent lookups of one name share a single query. A host that is not even syntactically a
host (rows saved before validation existed) is never looked up. `resolve()` never raises: an
unusable host is None, and the caller treats that gateway as failed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from softswitch.addresses import host_error, ip_literal
from softswitch.engine.clock import Clock

logger = logging.getLogger(__name__)

Lookup = Callable[[str], Awaitable[list[Any]]]
MAX_ENTRIES = 4096  # names of routing gateways: a few hundred at most; expired ones are pruned


async def getaddrinfo(host: str) -> list[Any]:
    """The event loop's non-blocking getaddrinfo, for UDP/TCP endpoints of `host`."""
    return await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)


def preferred_address(infos: list[Any]) -> str | None:
    """The first IPv4 address of a getaddrinfo answer (the engine listens on IPv4), else the
    first address of any family."""
    ordered = sorted(infos, key=lambda info: info[0] != socket.AF_INET)
    return str(ordered[0][4][0]) if ordered else None


class HostResolver:
    """Cached, non-blocking resolution of routing gateway hosts."""

    def __init__(
        self,
        lookup: Lookup = getaddrinfo,
        ttl: float = 60.0,
        negative_ttl: float = 10.0,
        timeout: float = 3.0,
        *,
        clock: Clock,
    ) -> None:
        self.lookup = lookup
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}  # host → (expiry, address)
        self._pending: dict[str, asyncio.Task[str | None]] = {}
        self._addresses: frozenset[str] = frozenset()  # what the names last resolved to

    def knows_address(self, ip: str) -> bool:
        """Whether a gateway's name last resolved to this address (the source is known)."""
        return ip in self._addresses

    def refresh(self, host: str) -> None:
        """Look a name up in the background if its answer is missing or expired, so that its
        address is known before the first call (and OPTIONS from it are answered)."""
        if host in self._pending or self._fresh(host) or ip_literal(host) is not None:
            return
        if host_error(host) is None:
            self._start_lookup(host)

    def _fresh(self, host: str) -> bool:
        cached = self._cache.get(host)
        return cached is not None and cached[0] > self.clock.monotonic()

    async def resolve(self, host: str) -> str | None:
        """The address to send to, or None if the host is malformed or does not resolve."""
        literal = ip_literal(host)
        if literal is not None:
            return literal
        if self._fresh(host):
            return self._cache[host][1]
        if error := host_error(host):
            self._remember(host, None, f"not a valid host name ({error})")
            return None
        task = self._pending.get(host) or self._start_lookup(host)
        return await asyncio.shield(task)  # a call that ends while waiting leaves the lookup be

    def _start_lookup(self, host: str) -> asyncio.Task[str | None]:
        task = asyncio.get_running_loop().create_task(self._lookup(host))  # never raises
        self._pending[host] = task
        return task

    async def _lookup(self, host: str) -> str | None:
        try:
            infos = await asyncio.wait_for(self.lookup(host), self.timeout)
            address = preferred_address(infos)
            self._remember(host, address, "no address")
            return address
        except Exception as error:  # gaierror, timeout, a name the resolver cannot encode …
            self._remember(host, None, f"{type(error).__name__}: {error}")
            return None
        finally:
            self._pending.pop(host, None)

    def _remember(self, host: str, address: str | None, why: str) -> None:
        """Cache an answer; a failure is logged when it starts, not at every call."""
        previous = self._cache.get(host)
        if address is None and (previous is None or previous[1] is not None):
            logger.warning("routing gateway host %r does not resolve: %s", host, why)
        elif address is not None and (previous is None or previous[1] != address):
            logger.info("routing gateway host %r resolves to %s", host, address)
        if len(self._cache) >= MAX_ENTRIES:
            self._prune()
        ttl = self.ttl if address is not None else self.negative_ttl
        self._cache[host] = (self.clock.monotonic() + ttl, address)
        self._addresses = frozenset(known for _, known in self._cache.values() if known)

    def _prune(self) -> None:
        now = self.clock.monotonic()
        for host in [host for host, (expiry, _) in self._cache.items() if expiry <= now]:
            del self._cache[host]
