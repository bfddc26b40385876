"""Engine nodes that share leases through the test Redis (money, line limits), driven in one
event loop: `run_nodes(test, make, ("n1", "n2"))` runs `test(*parts)`, one part per node built
by `make(client, node, clock)`, each with its own Redis client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from softswitch.engine.clock import Clock


def run_nodes(
    test: Callable[..., Awaitable[None]],
    make: Callable[[Any, str, Clock], Any],
    nodes: tuple[str, ...] = ("n1", "n2"),
) -> None:
    async def main() -> None:
        clients = [redis.asyncio.Redis.from_url(settings.REDIS_URL) for _ in nodes]
        try:
            await test(
                *(make(client, node, Clock()) for client, node in zip(clients, nodes, strict=True))
            )
            await asyncio.sleep(0.05)  # background releases
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(main())


def unreachable_redis() -> redis.asyncio.Redis:
    """A client of a Redis that is not there (connections refused), failing at once rather
    than after redis-py's retries with backoff (seconds per command)."""
    return redis.asyncio.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
