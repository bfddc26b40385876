"""Line limits of origins and gateways, leased from Redis across nodes (ADR 0003, ADR 0009)."""

from __future__ import annotations

import asyncio

import redis.asyncio
from django.conf import settings

from softswitch.engine.capacity import CHUNK_LINES, IN_USE, CapacityTracker
from softswitch.engine.clock import Clock
from tests.engine.redis_nodes import run_nodes, unreachable_redis

GATEWAY = "routing_gateway:7"


def scenario(test, nodes: tuple[str, ...] = ("n1", "n2")) -> None:
    """Run `test(*trackers)`, one line tracker per node, each with its own Redis client."""
    run_nodes(test, CapacityTracker, nodes)


def held(redis_client, node: str | None = None) -> int:
    """Lines of the gateway held in Redis (by every node, or by `node`)."""
    key = IN_USE if node is None else f"vosadmin:capacity:node:{node}"
    return int(redis_client.hget(key, GATEWAY) or 0)


async def take(tracker: CapacityTracker, limit: int, calls: int) -> list[bool]:
    return list(await asyncio.gather(*(tracker.acquire(GATEWAY, limit) for _ in range(calls))))


def test_nodes_never_hold_more_lines_than_the_limit(redis_client) -> None:
    """150 calls on each of two nodes at once, 200 lines: never more than 200 held. A node
    whose last lease found the limit far may keep up to two chunks spare that the other node
    cannot have until its pool goes back to Redis (a second after its lease)."""

    async def test(one: CapacityTracker, two: CapacityTracker) -> None:
        one.pools.idle = two.pools.idle = 0.2
        attempts = [node.acquire(GATEWAY, 200) for node in (one, two) * 150]
        granted = sum(await asyncio.gather(*attempts))
        assert held(redis_client) == 200
        assert 200 - 2 * CHUNK_LINES <= granted <= 200
        await asyncio.sleep(0.6)  # the pools went back (≤ 2 × idle)
        late = await take(two, 200, 200 - granted + 1)
        assert late.count(True) == 200 - granted and late[-1] is False
        assert held(redis_client) == 200 == one.local[GATEWAY] + two.local[GATEWAY]

    scenario(test)


def test_calls_take_lines_from_the_pool_without_a_round_trip(redis_client) -> None:
    async def test(node: CapacityTracker) -> None:
        assert await node.acquire(GATEWAY, 1000)
        assert held(redis_client) == 9  # the call's line and a chunk of 8
        assert all(await take(node, 1000, 8)) and held(redis_client) == 9
        assert await node.acquire(GATEWAY, 1000) and held(redis_client) == 18
        for _ in range(10):
            node.release(GATEWAY)  # back to the pool: past two chunks spare, down to one
        await asyncio.sleep(0.05)
        assert (node.pools.spare[GATEWAY], held(redis_client)) == (9, 9)

    scenario(test, ("n1",))


def test_a_burst_on_an_empty_pool_leases_once_not_once_per_call(redis_client) -> None:
    async def main() -> None:
        name = "capacity-burst-test"
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL, client_name=name)
        node = CapacityTracker(client, "n1", Clock())
        try:
            calls = await take(node, 100_000, 300)
            connections = [c for c in await client.client_list() if c["name"] == name]
        finally:
            await client.aclose()
        assert all(calls) and node.shared[GATEWAY] == 300
        assert len(connections) <= 2
        assert held(redis_client) == 300 + node.pools.spare[GATEWAY] == 300 + 8

    asyncio.run(main())


def test_a_small_limit_takes_and_gives_back_each_line_in_redis(redis_client) -> None:
    async def test(one: CapacityTracker, two: CapacityTracker) -> None:
        assert await take(one, 3, 2) == [True, True] and held(redis_client) == 2
        assert await take(two, 3, 2) == [True, False]
        one.release(GATEWAY)
        await asyncio.sleep(0.05)
        assert held(redis_client, "n1") == 1 and one.pools.spare[GATEWAY] == 0
        assert await two.acquire(GATEWAY, 3)  # the line n1 gave up

    scenario(test)


def test_near_the_limit_a_line_given_up_is_free_for_every_node(redis_client) -> None:
    async def test(one: CapacityTracker, two: CapacityTracker) -> None:
        limit = 160  # a chunk of 8 lines while 4 more chunks stay free
        assert all(await take(one, limit, 100))
        assert held(redis_client, "n1") == 100 + one.pools.spare[GATEWAY]
        assert all(await take(two, limit, 60 - held(redis_client, "n1") + 100))
        assert held(redis_client) == limit and not await two.acquire(GATEWAY, limit)
        assert two.far[GATEWAY] is False
        while one.pools.spare[GATEWAY]:  # n1's chunk, leased while the limit was far
            assert await one.acquire(GATEWAY, limit)
        one.release(GATEWAY)  # kept: n1 leased far from the limit…
        await asyncio.sleep(0.05)
        assert not await two.acquire(GATEWAY, limit)
        assert await take(one, limit, 2) == [True, False]  # …and now knows it is near
        one.release(GATEWAY)
        await asyncio.sleep(0.05)
        assert await two.acquire(GATEWAY, limit)

    scenario(test)


def test_a_pool_goes_back_to_redis_after_its_lease(redis_client) -> None:
    async def test(node: CapacityTracker) -> None:
        node.pools.idle = 0.2
        assert all(await take(node, 1000, 3))
        for _ in range(3):
            node.release(GATEWAY)
        assert held(redis_client) == 9
        await asyncio.sleep(0.6)  # seen by the next trim (≤ 2 × idle)
        assert held(redis_client) == 0 and not node.pools.spare
        assert await node.acquire(GATEWAY, 1000) and held(redis_client) == 9

    scenario(test, ("n1",))


def test_a_changed_limit_gives_back_the_pool_and_leases_under_the_new_one(redis_client) -> None:
    async def test(node: CapacityTracker) -> None:
        assert await node.acquire(GATEWAY, 1000) and held(redis_client) == 9
        node.release(GATEWAY)
        assert await take(node, 2, 3) == [True, True, False]
        await asyncio.sleep(0.05)
        assert held(redis_client) == 2

    scenario(test, ("n1",))


def test_a_restarted_node_gives_back_the_lines_its_previous_run_held(redis_client) -> None:
    async def test(killed: CapacityTracker, other: CapacityTracker) -> None:
        assert all(await take(killed, 1000, 5))
        assert all(await take(other, 1000, 2))
        assert await killed.forget_previous_run() == 1  # the restart of node n1
        assert held(redis_client) == held(redis_client, "n2") == 9  # 2 calls, 7 spare
        assert held(redis_client, "n1") == 0
        killed.release(GATEWAY)  # a call of the previous run: nothing left to give back
        await asyncio.sleep(0.05)
        assert held(redis_client) == 9

    scenario(test)


def test_without_redis_a_node_enforces_the_limit_on_its_own_calls() -> None:
    async def main() -> None:
        unreachable = unreachable_redis()
        node = CapacityTracker(unreachable, "n1", Clock())
        try:
            assert await take(node, 2, 3) == [True, True, False]
            assert node.unshared[GATEWAY] == 2 and not node.pools.leasing
            node.release(GATEWAY)
            assert await node.acquire(GATEWAY, 2)
        finally:
            await unreachable.aclose()

    asyncio.run(main())


def test_an_unlimited_line_costs_no_round_trip() -> None:
    async def main() -> None:
        unreachable = unreachable_redis()
        node = CapacityTracker(unreachable, "n1", Clock())
        assert all(await take(node, 0, 5)) and node.local[GATEWAY] == 5
        node.release(GATEWAY)
        assert (node.local[GATEWAY], node.shared[GATEWAY], node.unshared[GATEWAY]) == (4, 0, 0)
        await unreachable.aclose()

    asyncio.run(main())
