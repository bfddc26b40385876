"""Money reserved by calls in progress, shared by all engine nodes (SPEC §8.3, ADR 0006).

`vosadmin:billing:reserved` maps account id → money reserved on every node, and
`vosadmin:billing:reserved:node:<node>` holds this node's share, so that a restarted node gives
back what its previous run held. Amounts are integers in 1/10,000 of the currency (the
storage precision of money): Redis and Lua never see a float of money.

A node leases money from Redis in chunks and hands it to its calls from a local pool
(`leases.LeasedPool`), so most calls cost no round trip: one Lua script checks and takes a
lease (the call's share, plus up to half of what is still free for the calls that follow), so
concurrent calls of one account on any number of nodes never hold more than it may spend. A
finished call's money goes back to the pool, except the fee it charged, which leaves Redis once
its CDR is committed (the fee is then in the balance). A pool left idle is given back to Redis.
If Redis is unreachable, the node checks against its own reservations only (and says so).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from softswitch.engine.clock import Clock
from softswitch.engine.leases import LeasedPool
from softswitch.redis_keys import BILLING_RESERVED_KEY as RESERVED
from softswitch.redis_keys import billing_reserved_node_key

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
UNIT = Decimal("0.0001")  # money in Redis: integers of this unit
# A charged call's money is released this long after its CDR's commit: this node applied
# the batch's balances at once, every other node reloads them on its NOTIFY within
# milliseconds, and until then the money must be neither in the cached balance nor free.
SETTLE_DELAY = 1.0
# A lease asks for this many more calls' worth of money than the call needs (never more than
# half of what is free), and a pool unused this long goes back to Redis for the other nodes.
LEASE_EXTRA_CALLS = 8
POOL_IDLE_SECONDS = 2.0

# ARGV: account, spendable, needed (the least the call can start with, beyond the node's pool),
# wanted (what the call would hold), extra (more for the pool). Returns the lease, or -1.
LEASE = """
local reserved = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local free = tonumber(ARGV[2]) - reserved
if free < tonumber(ARGV[3]) then return -1 end
local wanted = tonumber(ARGV[4])
local pooled = math.min(wanted + tonumber(ARGV[5]), math.floor(free / 2))
local grant = math.max(0, math.min(free, math.max(wanted, pooled)))
if grant > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], grant)
  redis.call('HINCRBY', KEYS[2], ARGV[1], grant)
end
return grant
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
    shared: bool = True  # leased from Redis (so it goes back to the pool, then to Redis)
    fee_units: int = 0  # what the call charged: leaves Redis once its CDR is committed

    @property
    def amount(self) -> Decimal:
        return from_units(self.units)


class MoneyReserver:
    """Reserve and release the money of calls in progress, from a pool leased from Redis."""

    def __init__(self, redis: Any, node: str, clock: Clock) -> None:
        self.clock = clock
        self.pools: LeasedPool[int] = LeasedPool(
            redis, RESERVED, billing_reserved_node_key(node), clock, POOL_IDLE_SECONDS, "money"
        )
        self.local: Counter[int] = Counter()  # money held by this node's calls, by account
        self.pool = self.pools.spare  # leased from Redis, held by no call yet, by account
        self.unsettled: dict[int, Reservation] = {}  # flow number → held until its CDR commits
        self.settle_delay = SETTLE_DELAY

    async def reserve(
        self, account_id: int, spendable: Decimal, minimum: Decimal, wanted: Decimal
    ) -> Reservation | None:
        """Reserve up to `wanted` of what the account may still spend, all nodes together;
        None when that is less than `minimum` (the call must be refused)."""
        spendable_units, needed, want = (
            to_units(spendable, ROUND_FLOOR),
            to_units(minimum),
            to_units(wanted),
        )
        if needed == 0 and want == 0:
            return Reservation(account_id, 0)  # a free call: nothing to hold
        if self._usable(account_id, spendable_units) < want:
            try:
                await self.pools.top_up(
                    account_id,
                    lambda: self._usable(account_id, spendable_units) >= want,
                    lambda: self._lease(account_id, spendable_units, needed, want),
                )
            except Exception as error:
                logger.warning("money: Redis unavailable (%s); reserving on this node only", error)
                return self._reserve_locally(account_id, spendable_units, needed, want)
        units = min(want, self._usable(account_id, spendable_units))
        if units < needed:
            return None
        self.pool[account_id] -= units
        self.local[account_id] += units
        self.pools.touch(account_id)
        return Reservation(account_id, units)

    def _usable(self, account_id: int, spendable_units: int) -> int:
        """The pool's money this node may hand out: never more than the account may spend now
        beside what this node's calls hold (a pool outlives a lowered balance or credit)."""
        return max(0, min(self.pool[account_id], spendable_units - self.local[account_id]))

    async def _lease(self, account_id: int, spendable_units: int, needed: int, want: int) -> None:
        """Top the pool up from Redis for a call that wants `want` and the others waiting
        (one round trip)."""
        pooled = self.pool[account_id]
        extra = want * (LEASE_EXTRA_CALLS + self.pools.waiting[account_id] - 1)
        args = (spendable_units, max(0, needed - pooled), want - pooled, extra)
        if (granted := int(await self.pools.run(LEASE, account_id, *args))) > 0:
            self.pool[account_id] += granted
            self.pools.touch(account_id)

    def _reserve_locally(
        self, account_id: int, spendable: int, minimum: int, wanted: int
    ) -> Reservation | None:
        free = spendable - self.local[account_id] - self.pool[account_id]
        if free < minimum:
            return None
        units = max(0, min(free, wanted))
        self.local[account_id] += units
        return Reservation(account_id, units, shared=False)

    def settle(self, reservation: Reservation, flow_no: int | None, fee: Decimal = ZERO) -> None:
        """The call ended: release now, or once the CDR `flow_no` (which charged `fee`) is
        committed to the database (`committed`)."""
        if flow_no is None:
            self.release(reservation)
        else:
            reservation.fee_units = min(reservation.units, to_units(fee))
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
            self.clock.call_later(self.settle_delay, self.release, *released)

    def release(self, *reservations: Reservation) -> None:
        """Give the calls' money back: to the pool, but their fees, now in the balances, to
        Redis (in the background, one round trip for all)."""
        spent: Counter[int] = Counter()  # account → fee units, one pair per account
        for reservation in reservations:
            account = reservation.account_id
            self.local[account] -= reservation.units
            if self.local[account] <= 0:
                del self.local[account]
            if not reservation.shared or reservation.units == 0:
                continue
            self.pool[account] += reservation.units - reservation.fee_units
            self.pools.touch(account)
            spent[account] += reservation.fee_units
        self.pools.give_back([value for item in (+spent).items() for value in item])  # +: no 0

    async def forget_previous_run(self) -> int:
        """Give back everything this node holds in Redis: at start, what a previous run left
        (a killed node's reservations end with its restart); at a clean stop, its own."""
        return await self.pools.forget_previous_run()
