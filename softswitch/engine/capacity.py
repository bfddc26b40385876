"""Line limits of phones, mapping gateways and routing gateways, shared by all engine nodes.

Lines held per origin or gateway live in Redis (`vosadmin:capacity:in_use`, a hash of
"<kind>:<id>" → lines, plus this node's share in `vosadmin:capacity:node:<node>` so a
restarted node can give back what its previous run held — docs/adr/0003). A limit of 0 means
unlimited and costs no round trip.

A node leases lines in chunks (`leases.LeasedPool`, as money is leased) and hands them to its
calls without a round trip; a call that ends gives its line back to the pool. Lines count as
held in Redis from the lease on, so all nodes together never hold more than the limit. What a
chunk costs is lines another node cannot have while they are spare here, so chunks are small
and short-lived: a sixteenth of the limit, at most `CHUNK_LINES` (none under 16 lines); none
once fewer than `FAR_LEASES` chunks were free at the node's last lease (each call's line then
comes from Redis and goes straight back, as without chunks); never more than two chunks spare
on a node; and the pool goes back to Redis `POOL_SECONDS` to twice that after the lease that
filled it. If Redis is unreachable, each node enforces the limit on its own calls.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from softswitch.engine.clock import Clock
from softswitch.engine.leases import LeasedPool
from softswitch.redis_keys import CAPACITY_IN_USE_KEY as IN_USE
from softswitch.redis_keys import capacity_node_key

logger = logging.getLogger(__name__)

CHUNK_LINES = 8  # a lease takes up to this many lines more than the calls waiting need…
CHUNK_SHARE = 16  # …a 1/16 of the limit…
FAR_LEASES = 4  # …while this many chunks are still free beyond the lease
POOL_SECONDS = 1.0

# ARGV: field, limit, wanted (lines for the calls waiting), chunk, FAR_LEASES, back (spare lines
# leased under another limit, given back first). Returns {lines granted (0: every line is
# held), 1 if far from the limit (a chunk was added)}.
LEASE = """
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local back = math.min(tonumber(ARGV[6]), tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0'))
local free = tonumber(ARGV[2]) - used + back
local grant, far = 0, false
if free >= 1 then
  local wanted, chunk = tonumber(ARGV[3]), tonumber(ARGV[4])
  far = chunk > 0 and free >= wanted + (1 + tonumber(ARGV[5])) * chunk
  grant = math.min(free, wanted + (far and chunk or 0))
end
for k = 1, 2 do
  if grant ~= back and redis.call('HINCRBY', KEYS[k], ARGV[1], grant - back) <= 0 then
    redis.call('HDEL', KEYS[k], ARGV[1])
  end
end
return {grant, far and 1 or 0}
"""


def chunk_for(limit: int) -> int:
    """The lines a lease adds for the calls that follow, under a limit (0: none)."""
    return min(CHUNK_LINES, limit // CHUNK_SHARE)


class CapacityTracker:
    """Acquire and release a line of an origin or gateway ("phone:3", "routing_gateway:7")."""

    def __init__(self, redis: Any, node: str, clock: Clock) -> None:
        self.pools: LeasedPool[str] = LeasedPool(
            redis, IN_USE, capacity_node_key(node), clock, POOL_SECONDS, "capacity"
        )
        self.local: Counter[str] = Counter()  # lines held by this node's calls
        self.shared: Counter[str] = Counter()  # … of which leased from Redis
        self.unshared: Counter[str] = Counter()  # … of which taken while Redis was away
        self.leased_under: dict[str, int] = {}  # the limit the pool was leased under
        self.far: dict[str, bool] = {}  # the last lease found the limit far: pool lines

    def available(self, key: str, limit: int) -> bool:
        """A cheap pre-check on this node's own calls (routing skips gateways that are full)."""
        return limit == 0 or self.local[key] < limit

    async def acquire(self, key: str, limit: int) -> bool:
        """Take a line if the limit allows; False if every line is in use."""
        if limit > 0:
            spare = self.pools.spare
            if not spare[key] or self.leased_under.get(key) != limit:
                try:
                    await self.pools.top_up(
                        key,
                        lambda: spare[key] > 0 and self.leased_under.get(key) == limit,
                        lambda: self._lease(key, limit),
                    )
                except Exception as error:
                    logger.warning(
                        "capacity: Redis unavailable (%s); enforcing %s locally", error, key
                    )
                    return self._acquire_locally(key, limit)
                if not spare[key]:
                    return False
            spare[key] -= 1
            self.shared[key] += 1
        self.local[key] += 1
        return True

    async def _lease(self, key: str, limit: int) -> None:
        """Lines from Redis for the calls waiting, and a chunk more if the limit is far; the
        pool leased under another limit goes back in the same step (a limit was changed)."""
        spare = self.pools.spare
        back = spare[key] if self.leased_under.get(key, limit) != limit else 0
        spare[key] -= back
        try:
            granted, far = await self.pools.run(
                LEASE, key, limit, self.pools.waiting[key], chunk_for(limit), FAR_LEASES, back
            )
        except Exception:
            spare[key] += back  # maybe still held in Redis: it goes back with the pool
            raise
        self.leased_under[key], self.far[key] = limit, bool(far)
        if granted:
            spare[key] += int(granted)
            self.pools.touch(key)

    def _acquire_locally(self, key: str, limit: int) -> bool:
        if self.local[key] >= limit:
            return False
        self.unshared[key] += 1
        self.local[key] += 1
        return True

    def release(self, key: str) -> None:
        """Give a line back: to this node's pool while the limit is far, else to Redis."""
        if not _take_one(self.local, key):
            return
        if _take_one(self.unshared, key) or not _take_one(self.shared, key):
            return  # taken while Redis was away, or under no limit
        self.pools.spare[key] += 1
        chunk = chunk_for(self.leased_under[key])
        if not self.far[key]:
            self._give_back(key, keep=0)
        elif self.pools.spare[key] > 2 * chunk:
            self._give_back(key, keep=chunk)
        else:
            self.pools.expire(key)

    def _give_back(self, key: str, keep: int) -> None:
        """Send the spare lines beyond `keep` back to Redis (in the background)."""
        if (surplus := self.pools.spare[key] - keep) > 0:
            self.pools.spare[key] = keep
            self.pools.give_back([key, surplus])

    async def forget_previous_run(self) -> int:
        """Give back every line this node holds in Redis: at start, what a previous run left;
        at a clean stop, its pools."""
        return await self.pools.forget_previous_run()


def _take_one(counter: Counter[str], key: str) -> bool:
    """Decrement a positive count (dropping it at 0); False if it was 0."""
    if counter[key] <= 0:
        counter.pop(key, None)
        return False
    counter[key] -= 1
    if not counter[key]:
        del counter[key]
    return True
