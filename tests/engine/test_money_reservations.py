"""Money reserved by calls in progress, in Redis across nodes (SPEC §8.3, ADR 0006)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import redis.asyncio
from django.conf import settings

from softswitch.engine.money import RESERVED, MoneyReserver, to_units

ACCOUNT = 7


def scenario(test, nodes: tuple[str, ...] = ("n1", "n2")) -> None:
    """Run `test(*reservers)`, one reserver per node, each with its own Redis client."""

    async def main() -> None:
        clients = [redis.asyncio.Redis.from_url(settings.REDIS_URL) for _ in nodes]
        try:
            await test(
                *(MoneyReserver(client, node) for client, node in zip(clients, nodes, strict=True))
            )
            await asyncio.sleep(0.05)  # background releases
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(main())


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
        one.release(first)
        await asyncio.sleep(0.05)
        assert reserved(redis_client) == to_units(Decimal("0.40"))
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
        assert len(granted) == 4  # 0.30 + 0.30 + 0.30 + 0.10

    scenario(test)


def test_a_charged_call_holds_its_money_until_its_cdr_is_committed(redis_client) -> None:
    async def test(node: MoneyReserver) -> None:
        node.settle_delay = 0.1
        charged = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.5"))
        free = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.2"))
        node.settle(charged, flow_no=4242)
        node.settle(free, flow_no=None)  # fee 0: released at once
        await asyncio.sleep(0.05)
        assert reserved(redis_client) == to_units(Decimal("0.5"))
        node.committed(b'4241,"x"\n4242,"call"\n')
        assert not node.unsettled
        await asyncio.sleep(0.05)  # every node reloads the balance the batch charged
        assert reserved(redis_client) == to_units(Decimal("0.5"))
        await asyncio.sleep(0.15)
        assert reserved(redis_client) == 0

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
        assert reserved(redis_client) == to_units(Decimal("0.2"))

    scenario(test)


def test_free_calls_reserve_nothing(redis_client) -> None:
    async def test(node: MoneyReserver) -> None:
        free = await node.reserve(ACCOUNT, Decimal("-5"), Decimal(0), Decimal(0))
        assert free.amount == 0 and reserved(redis_client) == 0

    scenario(test, ("n1",))


def test_without_redis_a_node_reserves_against_its_own_calls() -> None:
    async def main() -> None:
        unreachable = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        node = MoneyReserver(unreachable, "n1")
        first = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        second = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        third = await node.reserve(ACCOUNT, Decimal("1"), Decimal("0.1"), Decimal("0.7"))
        assert (first.amount, second.amount, third) == (Decimal("0.7"), Decimal("0.3"), None)
        assert not first.shared
        node.release(first)
        assert node.local[ACCOUNT] == to_units(Decimal("0.3"))
        await unreachable.aclose()

    asyncio.run(main())
