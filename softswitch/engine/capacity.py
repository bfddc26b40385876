"""Line limits of phones, mapping gateways and routing gateways, shared by all engine nodes.

Calls in progress per origin or gateway live in Redis (`vosadmin:capacity:in_use`, a hash of
"<kind>:<id>" → calls, plus this node's share in `vosadmin:capacity:node:<node>` so a restarted
node can give back what its previous run held — docs/adr/0003). A limit of 0 means unlimited
and costs no round trip. If Redis is unreachable, each node enforces the limit on its own calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from softswitch.redis_keys import CAPACITY_IN_USE_KEY as IN_USE
from softswitch.redis_keys import capacity_node_key

logger = logging.getLogger(__name__)


ACQUIRE = """
local used = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if tonumber(ARGV[2]) > 0 and used > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 1
"""

RELEASE = """
for i = 1, 2 do
  if redis.call('HINCRBY', KEYS[i], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 1
"""

FORGET_NODE = """
local mine = redis.call('HGETALL', KEYS[2])
for i = 1, #mine, 2 do
  if redis.call('HINCRBY', KEYS[1], mine[i], -tonumber(mine[i + 1])) <= 0 then
    redis.call('HDEL', KEYS[1], mine[i])
  end
end
redis.call('DEL', KEYS[2])
return #mine / 2
"""


class CapacityTracker:
    """Acquire and release a line of an origin or gateway ("phone:3", "routing_gateway:7")."""

    def __init__(self, redis: Any, node: str) -> None:
        self.redis = redis
        self.node_key = capacity_node_key(node)
        self.local: Counter[str] = Counter()
        self._shared: set[str] = set()  # lines acquired in Redis (released there too)

    def available(self, key: str, limit: int) -> bool:
        """A cheap pre-check on this node's own calls (routing skips gateways that are full)."""
        return limit == 0 or self.local[key] < limit

    async def acquire(self, key: str, limit: int) -> bool:
        """Take a line if the limit allows; False if every line is in use."""
        if limit > 0:
            try:
                if not await self.redis.eval(ACQUIRE, 2, IN_USE, self.node_key, key, limit):
                    return False
                self._shared.add(key)
            except Exception as error:
                logger.warning("capacity: Redis unavailable (%s); enforcing %s locally", error, key)
                if self.local[key] >= limit:
                    return False
        self.local[key] += 1
        return True

    def release(self, key: str) -> None:
        """Give a line back."""
        self.local[key] -= 1
        if self.local[key] <= 0:
            del self.local[key]
        if key in self._shared:
            if key not in self.local:
                self._shared.discard(key)
            asyncio.get_running_loop().create_task(self._release_shared(key))

    async def _release_shared(self, key: str) -> None:
        try:
            await self.redis.eval(RELEASE, 2, IN_USE, self.node_key, key)
        except Exception as error:
            logger.warning("capacity: could not release %s in Redis: %s", key, error)

    async def forget_previous_run(self) -> int:
        """At start: give back the lines a previous run of this node held."""
        return int(await self.redis.eval(FORGET_NODE, 2, IN_USE, self.node_key))
