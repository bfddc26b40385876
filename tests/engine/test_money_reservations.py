"""Money reserved by calls in progress, in Redis across nodes (SPEC §8.3, ADR 0006)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import redis.asyncio
from django.conf import settings

from softswitch.engine.clock import Clock
from softswitch.engine.money import RESERVED, MoneyReserver, to_units
from tests.engine.redis_nodes import run_nodes, unreachable_redis

ACCOUNT = 7


def scenario(test, nodes: tuple[str, ...] = ("n1", "n2")) -> None:
    """Run `test(*reservers)`, one reserver per node, each with its own Redis client."""
    run_nodes(test, MoneyReserver, nodes)


def reserved(redis_client, node: str | None = None) -> int:
    key = RESERVED if node is None else f"{RESERVED}:node:{node}"
    return int(redis_client.hget(key, str(ACCOUNT)) or 0)


def test_two_nodes_never_reserve_more_than_the_account_may_spend(redis_client) -> None:
    async def test(one: MoneyReserver, two: MoneyReserver) -> None:
        first = await one.reserve(ACCOUNT, Decimal("1.00"), Decimal("0.10"), Decimal("0.60"))
        second = await two.reserve(ACCOUNT, Decimal("1.00"), Decimal("0.10"), Decimal("0.60"))
        third = await one.reserve(ACCOUNT, Decimal("1.00"), Decimal("0.10"), Decimal("0.60"))
        assert (first.amount, second.amount, third) == (Decimal("0.6"), Decimal("0.4"), None)
        assert reserved(redis_client) == to_units(Decimal("1.00"))
        assert reserved(redis_client, "n2") == to_units(Decimal("0.40"))
        one.release(first)  # back to n1's pool, still leased: n2 cannot take it
        await asyncio.sleep(0.05)
        assert reserved(redis_client) == to_units(Decimal("1.00"))
        assert await two.reserve(ACCOUNT, Decimal("1.00"), Decimal("0.10"), Decimal("0.1")) is None
        again = await one.reserve(ACCOUNT, Decimal("1.00"), Decimal("0.10"), Decimal("5"))
        assert again.amount == Decimal("0.6")

    scenario(test)


def test_many_concurrent_reservations_stay_within_the_money(redis_client) -> None:
    async def test(one: MoneyReserver, two: MoneyReserver) -> None:
        attempts = [
            node.reserve(ACCOUNT, Decimal("1.00"), Decimal("0.05"), Decimal("0.30"))
            for node in (one, two) * 10
        ]
        granted = [found for found in await asyncio.gather(*attempts) if found is not None]
        assert sum(found.amount for found in granted) == Decimal("1.00")
        assert all(Decimal("0.05") <= found.amount <= Decimal("0.30") for found in granted)
        assert reserved(redis_client) == to_units(Decimal("1.00"))

    scenario(test)


def test_a_burst_on_an_empty_pool_leases_once_or_twice_not_once_per_call(redis_client) -> None:
    """300 calls of one account arriving together, the node's pool empty: they wait for one
    lease in flight instead of each opening a connection for its own (which past redis-py's
    100 failed with "Too many connections" and fell back to reserving on this node only)."""

    async def main() -> None:
        name = "money-burst-test"
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL, client_name=name)
        node = MoneyReserver(client, "n1", Clock())
        try:
            calls = await asyncio.gather(
                *(node.reserve(ACCOUNT, Decimal("1000"), Decimal("0.1"), Decimal("0.3"))
                  for _ in range(300))
            )  # fmt: skip
            connections = [c for c in await client.client_list() if c["name"] == name]
        finally:
            await client.aclose()
        assert all(call is not None and call.shared for call in calls)
        assert all(call.amount == Decimal("0.3") for call in calls)
        assert len(connections) <= 2
        assert reserved(redis_client) == to_units(Decimal("0.3")) * 300 + node.pool[ACCOUNT]

    asyncio.run(main())


def test_a_failed_lease_fails_the_calls_waiting_for_it_over_to_their_node(redis_client) -> None:
    """Redis unreachable: the call that leased and those that waited for it all reserve
    against this node's own calls, as one call alone would."""

    async def main() -> None:
        unreachable = unreachable_redis()
        node = MoneyReserver(unreachable, "n1", Clock())
        try:
            calls = await asyncio.gather(
                *(node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.3"))
                  for _ in range(5))
            )  # fmt: skip
        finally:
            await unreachable.aclose()
        granted = [call.amount for call in calls if call is not None]
        assert granted == [Decimal("0.3")] * 3 + [Decimal("0.1")]
        assert not any(call.shared for call in calls if call is not None)
        assert node.pools.leasing == {} and node.pools.waiting == {}

    asyncio.run(main())


def test_a_charged_call_holds_its_fee_until_its_cdr_is_committed(redis_client) -> None:
    async def test(node: MoneyReserver) -> None:
        node.settle_delay, node.pools.idle = 0.1, 0.4
        charged = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.5"))
        free = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.2"))
        # leases: 0.5 for the first call; 0.2 and a quarter of the free 0.5 for the pool
        assert reserved(redis_client) == to_units(Decimal("0.75"))
        node.settle(charged, flow_no=4242, fee=Decimal("0.3"))
        node.settle(free, flow_no=None)  # fee 0: back to the pool at once
        assert node.pool[ACCOUNT] == to_units(Decimal("0.25"))
        node.committed(b'4241,"x"\n4242,"call"\n')
        assert not node.unsettled
        await asyncio.sleep(0.05)  # every node reloads the balance the batch charged
        assert reserved(redis_client) == to_units(Decimal("0.75"))
        await asyncio.sleep(0.1)  # the fee is in the balance: it leaves Redis; the rest is pooled
        assert reserved(redis_client) == to_units(Decimal("0.45"))
        assert node.pool[ACCOUNT] == to_units(Decimal("0.45"))
        await asyncio.sleep(0.9)  # idle for pools.idle, seen by the next trim (≤ 2 × idle)
        assert reserved(redis_client) == 0 and not node.pool

    scenario(test, ("n1",))


def test_calls_take_money_from_the_pool_without_a_round_trip(redis_client) -> None:
    async def test(node: MoneyReserver) -> None:
        calls = [await node.reserve(ACCOUNT, Decimal("10"), Decimal("0.1"), Decimal("0.3"))]
        assert reserved(redis_client) == to_units(Decimal("2.7"))  # the call and 8 more
        calls += [
            await node.reserve(ACCOUNT, Decimal("10"), Decimal("0.1"), Decimal("0.3"))
            for _ in range(8)
        ]
        assert reserved(redis_client) == to_units(Decimal("2.7"))
        assert node.pool[ACCOUNT] == 0
        calls.append(await node.reserve(ACCOUNT, Decimal("10"), Decimal("0.1"), Decimal("0.3")))
        assert reserved(redis_client) == to_units(Decimal("5.4"))
        assert all(call.amount == Decimal("0.3") for call in calls)

    scenario(test, ("n1",))


def test_a_lease_leaves_half_of_the_free_money_to_the_other_nodes(redis_client) -> None:
    async def test(one: MoneyReserver, two: MoneyReserver) -> None:
        await one.reserve(ACCOUNT, Decimal("1"), Decimal("0.01"), Decimal("0.1"))
        await two.reserve(ACCOUNT, Decimal("1"), Decimal("0.01"), Decimal("0.1"))
        assert reserved(redis_client, "n1") == to_units(Decimal("0.5"))
        assert reserved(redis_client, "n2") == to_units(Decimal("0.25"))

    scenario(test)


def test_a_pool_never_outspends_a_lowered_balance(redis_client) -> None:
    async def test(node: MoneyReserver) -> None:
        first = await node.reserve(ACCOUNT, Decimal("10"), Decimal("0.1"), Decimal("0.3"))
        assert node.pool[ACCOUNT] == to_units(Decimal("2.4"))
        # an operator took money back: the account may now spend 0.5 in all
        second = await node.reserve(ACCOUNT, Decimal("0.5"), Decimal("0.1"), Decimal("0.3"))
        third = await node.reserve(ACCOUNT, Decimal("0.5"), Decimal("0.1"), Decimal("0.3"))
        assert (first.amount, second.amount, third) == (Decimal("0.3"), Decimal("0.2"), None)

    scenario(test, ("n1",))


def test_a_restarted_node_gives_back_what_its_previous_run_held(redis_client) -> None:
    async def test(killed: MoneyReserver, other: MoneyReserver) -> None:
        await killed.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        kept = await other.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.2"))
        assert await killed.forget_previous_run() == 1  # the restart of node n1
        assert reserved(redis_client) == to_units(kept.amount)
        assert reserved(redis_client, "n1") == 0

    scenario(test)


def test_a_release_after_the_node_gave_everything_back_changes_nothing(redis_client) -> None:
    async def test(node: MoneyReserver, other: MoneyReserver) -> None:
        late = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.3"))
        await other.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.2"))
        await node.forget_previous_run()
        node.release(late)
        await asyncio.sleep(0.05)
        assert reserved(redis_client) == to_units(Decimal("0.25"))  # other's call and pool

    scenario(test)


def test_free_calls_reserve_nothing(redis_client) -> None:
    async def test(node: MoneyReserver) -> None:
        free = await node.reserve(ACCOUNT, Decimal("-5"), Decimal(0), Decimal(0))
        assert free.amount == 0 and reserved(redis_client) == 0

    scenario(test, ("n1",))


def test_without_redis_a_node_reserves_against_its_own_calls() -> None:
    async def main() -> None:
        unreachable = unreachable_redis()
        node = MoneyReserver(unreachable, "n1", Clock())
        first = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        second = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        third = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        assert (first.amount, second.amount, third) == (Decimal("0.7"), Decimal("0.3"), None)
        assert not first.shared
        node.release(first)
        assert node.local[ACCOUNT] == to_units(Decimal("0.3"))
        await unreachable.aclose()

    asyncio.run(main())
