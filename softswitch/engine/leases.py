"""What an engine node leases from a total shared in Redis: money of an account, lines of a
gateway (ADR 0006, ADR 0003).

Both live in two Redis hashes: a total of every node (field → amount) and this node's share,
so that a restarted node gives back what its previous run held (`FORGET_NODE`). A node leases
in chunks and hands a chunk out to its calls from a local pool (`LeasedPool`), so most calls
cost no round trip: one lease per field is in flight at a time (a call that finds one waits
for it, and leases again only if it left too little), and a pool that sat `idle` seconds since
it last moved goes back to Redis for the other nodes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from softswitch.engine.clock import Clock

logger = logging.getLogger(__name__)

Field = TypeVar("Field", bound=Hashable)

# KEYS: the total, the node's share. Gives back everything the node holds; returns the fields.
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

# Gives back any number of (field, amount) pairs at once (one round trip), never more than this
# node holds: a release that comes after the node's share was given back (FORGET_NODE at a
# clean stop) changes nothing.
RELEASE = """
local released = 0
for i = 1, #ARGV, 2 do
  local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
  local amount = math.min(mine, tonumber(ARGV[i + 1]))
  if amount > 0 then
    for k = 1, 2 do
      if redis.call('HINCRBY', KEYS[k], ARGV[i], -amount) <= 0 then
        redis.call('HDEL', KEYS[k], ARGV[i])
      end
    end
    released = released + amount
  end
end
return released
"""


class LeaseFailed(ConnectionError):
    """The lease a call waited for failed (Redis unreachable)."""


class LeasedPool(Generic[Field]):
    """This node's leases of one kind: what no call holds yet (`spare`), the leases in flight,
    and giving back to Redis."""

    def __init__(
        self, redis: Any, total_key: str, node_key: str, clock: Clock, idle: float, kind: str
    ) -> None:
        self.redis = redis
        self.keys = [total_key, node_key]
        self.clock = clock
        self.idle = idle
        self.kind = kind  # for the log: "money", "capacity"
        self.spare: Counter[Field] = Counter()
        self.moved: dict[Field, float] = {}  # field → monotonic time its pool last moved
        self.leasing: dict[Field, asyncio.Future[Exception | None]] = {}
        self.waiting: Counter[Field] = Counter()  # calls waiting for a lease, by field
        self._trim_pending = False
        self._scripts: dict[str, Any] = {}

    def script(self, source: str) -> Any:
        """The script as EVALSHA (sent to Redis once, not with every call), made on first use."""
        if source not in self._scripts:
            self._scripts[source] = self.redis.register_script(source)
        return self._scripts[source]

    async def run(self, source: str, *args: object) -> Any:
        """Run a script on the total and this node's share."""
        return await self.script(source)(keys=self.keys, args=list(args))

    async def top_up(
        self, field: Field, enough: Callable[[], bool], lease: Callable[[], Awaitable[None]]
    ) -> None:
        """Lease for a call the pool cannot serve, one lease per field at a time: a call that
        finds one in flight waits for it, and leases again only if the pool is still not
        `enough` for it, then for every call still waiting. A burst that empties the pool so
        costs a round trip or two instead of one per call, which under overload opened more
        connections than redis-py's pool holds (100) and timed out the rest (ADR 0006).
        Raises if the lease failed (the caller decides on its own)."""
        self.waiting[field] += 1
        try:
            while (in_flight := self.leasing.get(field)) is not None:
                failure = await in_flight
                if failure is not None:
                    raise LeaseFailed(f"the lease this call waited for failed: {failure}")
                if enough():
                    return
            await self._lead(field, lease)
        finally:
            self.waiting[field] -= 1
            if not self.waiting[field]:
                del self.waiting[field]

    async def _lead(self, field: Field, lease: Callable[[], Awaitable[None]]) -> None:
        done: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.leasing[field] = done
        failure: Exception | None = None
        try:
            await lease()
        except Exception as error:
            failure = error
            raise
        finally:
            del self.leasing[field]
            done.set_result(failure)

    def touch(self, field: Field) -> None:
        """The pool moved: it goes back to Redis once it stays idle for `idle`."""
        self.moved[field] = self.clock.monotonic()
        if not self._trim_pending:
            self._trim_pending = True
            self.clock.call_later(self.idle, self._trim)

    def expire(self, field: Field) -> None:
        """Make sure the pool goes back once idle, without counting this as a move."""
        if field not in self.moved:
            self.touch(field)

    def _trim(self) -> None:
        """Give the pools idle for `idle` back to Redis, so other nodes can lease them."""
        self._trim_pending = False
        idle_since = self.clock.monotonic() - self.idle
        returned: list[object] = []
        for field, moved in list(self.moved.items()):
            if moved > idle_since:
                continue
            del self.moved[field]
            if (amount := self.spare.pop(field, 0)) > 0:
                returned += [field, amount]
        self.give_back(returned)
        if self.moved:
            self._trim_pending = True
            self.clock.call_later(self.idle, self._trim)

    def give_back(self, pairs: list[object]) -> None:
        """Release (field, amount, …) in Redis, in the background, in one round trip."""
        if pairs:
            asyncio.get_running_loop().create_task(self._release(pairs))

    async def _release(self, pairs: list[object]) -> None:
        try:
            await self.run(RELEASE, *pairs)
        except Exception as error:
            logger.warning("%s: could not release %s in Redis: %s", self.kind, pairs, error)

    async def forget_previous_run(self) -> int:
        """Give back everything this node holds in Redis: at start, what a previous run left
        (a killed node's leases end with its restart); at a clean stop, its own."""
        self.spare.clear()
        self.moved.clear()
        return int(await self.run(FORGET_NODE))
