"""Money reserved by calls in progress, shared by all engine nodes (SPEC §8.3, ADR 0006).

`vosadmin:billing:reserved` maps account id → money reserved by its calls on every node, and
`vosadmin:billing:reserved:node:<node>` holds this node's share, so that a restarted node gives
back what its previous run held. Amounts are integers in 1/10,000 of the currency (the
storage precision of money): Redis and Lua never see a float of money.

A reservation is checked and taken by one Lua script, so concurrent calls of one account on any
number of nodes never reserve more than it may spend. It is released once the call's CDR is
committed (its fee is then in the balance); a call whose fee is 0 releases at once. If Redis is
unreachable, the node checks against its own reservations only (and says so).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from softswitch.engine.capacity import FORGET_NODE  # the same shape: a total and per-node shares
from softswitch.redis_keys import BILLING_RESERVED_KEY as RESERVED
from softswitch.redis_keys import billing_reserved_node_key

logger = logging.getLogger(__name__)

UNIT = Decimal("0.0001")  # money in Redis: integers of this unit
# A charged call's money is released this long after its CDR's commit: the batch's NOTIFY
# reloads the balance on every node within milliseconds, and until then the money must be
# neither in the cached balance nor free.
SETTLE_DELAY = 1.0

RESERVE = """
local reserved = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local free = tonumber(ARGV[2]) - reserved
if free < tonumber(ARGV[3]) then return -1 end
local grant = math.max(0, math.min(free, tonumber(ARGV[4])))
if grant > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], grant)
  redis.call('HINCRBY', KEYS[2], ARGV[1], grant)
end
return grant
"""

# Releases any number of (account, amount) pairs at once (a CDR batch's calls: one round trip),
# never more than this node holds: a release that comes after the node's share was given back
# (FORGET_NODE at a clean stop) changes nothing.
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


def to_units(amount: Decimal, rounding: str = ROUND_CEILING) -> int:
    """Money as an integer of UNIT (needs round up, what one may spend rounds down)."""
    return int((amount / UNIT).to_integral_value(rounding=rounding))


def from_units(units: int) -> Decimal:
    return Decimal(units) * UNIT


@dataclass(eq=False)
class Reservation:
    """Money one call holds: `amount` of `account_id` (0 when nothing was reserved)."""

    account_id: int
    units: int
    shared: bool = True  # reserved in Redis (so released there too)

    @property
    def amount(self) -> Decimal:
        return from_units(self.units)


class MoneyReserver:
    """Reserve and release the money of calls in progress."""

    def __init__(self, redis: Any, node: str) -> None:
        self.redis = redis
        self.node_key = billing_reserved_node_key(node)
        self.local: Counter[int] = Counter()  # this node's reservations, by account
        self.unsettled: dict[int, Reservation] = {}  # flow number → held until its CDR commits
        self.settle_delay = SETTLE_DELAY
        self._scripts: dict[str, Any] = {}

    def _script(self, source: str) -> Any:
        """The script as EVALSHA (sent to Redis once, not with every call), made on first use."""
        if source not in self._scripts:
            self._scripts[source] = self.redis.register_script(source)
        return self._scripts[source]

    async def reserve(
        self, account_id: int, spendable: Decimal, minimum: Decimal, wanted: Decimal
    ) -> Reservation | None:
        """Reserve up to `wanted` of what the account may still spend, all nodes together;
        None when that is less than `minimum` (the call must be refused)."""
        args = (to_units(spendable, ROUND_FLOOR), to_units(minimum), to_units(wanted))
        if args[1] == 0 and args[2] == 0:
            return Reservation(account_id, 0)  # a free call: nothing to hold
        shared = True
        try:
            granted = int(
                await self._script(RESERVE)(
                    keys=[RESERVED, self.node_key], args=[account_id, *args]
                )
            )
        except Exception as error:
            logger.warning("money: Redis unavailable (%s); reserving on this node only", error)
            granted, shared = self._reserve_locally(account_id, *args), False
        if granted < 0:
            return None
        self.local[account_id] += granted
        return Reservation(account_id, granted, shared)

    def _reserve_locally(self, account_id: int, spendable: int, minimum: int, wanted: int) -> int:
        free = spendable - self.local[account_id]
        return -1 if free < minimum else max(0, min(free, wanted))

    def settle(self, reservation: Reservation, flow_no: int | None) -> None:
        """The call ended: release now, or once the CDR `flow_no` (which charges the fee) is
        committed to the database (`committed`)."""
        if flow_no is None:
            self.release(reservation)
        else:
            self.unsettled[flow_no] = reservation

    def committed(self, data: bytes) -> None:
        """A batch of journal lines is in the database: release the calls it charged, once
        every node had time to reload the balances the batch changed (its NOTIFY)."""
        if not self.unsettled:
            return
        released = []
        for line in data.split(b"\n"):
            head = line.split(b",", 1)[0]
            if head.isdigit() and (reservation := self.unsettled.pop(int(head), None)):
                released.append(reservation)
        if released:
            asyncio.get_running_loop().call_later(self.settle_delay, self.release, *released)

    def release(self, *reservations: Reservation) -> None:
        """Give the money back (in Redis in the background, one round trip for all)."""
        shared: list[int] = []
        for reservation in reservations:
            if reservation.units == 0:
                continue
            account = reservation.account_id
            self.local[account] -= reservation.units
            if self.local[account] <= 0:
                del self.local[account]
            if reservation.shared:
                shared += [account, reservation.units]
        if shared:
            asyncio.get_running_loop().create_task(self._release_shared(shared))

    async def _release_shared(self, pairs: list[int]) -> None:
        try:
            await self._script(RELEASE)(keys=[RESERVED, self.node_key], args=pairs)
        except Exception as error:
            logger.warning("money: could not release %s in Redis: %s", pairs, error)

    async def forget_previous_run(self) -> int:
        """Give back everything this node holds in Redis: at start, what a previous run left
        (a killed node's reservations end with its restart); at a clean stop, its own."""
        return int(await self.redis.eval(FORGET_NODE, 2, RESERVED, self.node_key))
