"""The engine's Redis counters follow docs/adr/0003 exactly (the blacklist checks rely on it)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio
from django.conf import settings

from softswitch.engine.counters import Counters, attempts_key, security_key
from tests.engine.redis_nodes import unreachable_redis

NOW = 1_800_000_000.0


def run(coroutine):
    return asyncio.run(coroutine)


async def flushed(build, node: str = "node1") -> None:
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    counters = Counters(client, node)
    build(counters)
    assert await counters.flush()
    await client.aclose()


def test_attempts_land_in_the_window_of_each_family(redis_client) -> None:
    def build(counters: Counters) -> None:
        for _ in range(3):
            counters.call_attempt("1001", "8613", (600, 300), NOW)
        counters.call_attempt("1002", "8613", (600, 300), NOW)

    run(flushed(build))
    caller_key = f"vosadmin:bl:attempts:caller:600:{int(NOW // 600)}"
    callee_key = f"vosadmin:bl:attempts:callee:300:{int(NOW // 300)}"
    assert attempts_key("caller", 600, NOW) == caller_key
    assert redis_client.zrangebyscore(caller_key, 3, "+inf", withscores=True) == [("1001", 3.0)]
    assert redis_client.zscore(callee_key, "8613") == 4
    assert 0 < redis_client.ttl(caller_key) <= 1800


def test_no_answer_run_grows_and_an_answer_resets_it(redis_client) -> None:
    run(flushed(lambda c: [c.call_unanswered("44") for _ in range(4)]))
    assert redis_client.zscore("vosadmin:bl:no_answer_run", "44") == 4
    run(
        flushed(lambda c: (c.call_unanswered("44"), c.call_answered("44"), c.call_unanswered("44")))
    )
    assert redis_client.zscore("vosadmin:bl:no_answer_run", "44") == 1


def test_no_answer_runs_of_many_callees_in_one_flush(redis_client) -> None:
    """Restarts and increments of several callees go in one ZREM and one script."""
    run(flushed(lambda c: [c.call_unanswered(callee) for callee in ("51", "52", "52")]))

    def mixed(counters: Counters) -> None:
        counters.call_answered("51")  # its run of 1 restarts
        counters.call_unanswered("52")  # 2 → 3
        counters.call_answered("53")  # no run yet: nothing to restart
        counters.call_unanswered("54")
        counters.call_unanswered("54")

    run(flushed(mixed))
    runs = dict(redis_client.zrange("vosadmin:bl:no_answer_run", 0, -1, withscores=True))
    assert runs == {"52": 3.0, "54": 2.0}
    assert redis_client.ttl("vosadmin:bl:no_answer_run") == -1  # the runs never expire


def test_concurrency_now_and_peak(redis_client) -> None:
    def three_then_one_ends(counters: Counters) -> None:
        for _ in range(3):
            counters.call_started("1001")
        counters.call_ended("1001")

    run(flushed(three_then_one_ends))
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") == 2
    assert redis_client.zscore("vosadmin:bl:concurrent:peak", "1001") == 3
    run(flushed(lambda c: (c.call_ended("1001"), c.call_ended("1001"))))
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") is None
    assert redis_client.zscore("vosadmin:bl:concurrent:peak", "1001") == 3


def test_calls_one_after_another_within_a_flush_were_never_simultaneous(redis_client) -> None:
    """Calls that start and end within one flush (e.g. refused at once by every gateway)
    raise the peak only as far as they overlapped: here one at a time, on top of one call
    already in progress."""
    run(flushed(lambda c: c.call_started("1001")))

    def one_at_a_time(counters: Counters) -> None:
        for _ in range(5):
            counters.call_started("1001")
            counters.call_ended("1001")

    run(flushed(one_at_a_time))
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") == 1
    assert redis_client.zscore("vosadmin:bl:concurrent:peak", "1001") == 2


def test_the_peak_of_tallies_kept_through_an_outage(redis_client) -> None:
    """Tallies a failed flush kept are merged in order: their overlap is kept exactly."""

    async def scenario() -> None:
        counters = Counters(unreachable_redis(), "node1")
        for _ in range(2):
            counters.call_started("1001")
        counters.call_ended("1001")
        assert not await counters.flush()
        counters.call_ended("1001")
        for _ in range(3):
            counters.call_started("1001")
            counters.call_ended("1001")
        counters.redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        assert await counters.flush()
        await counters.redis.aclose()

    run(scenario())
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") is None
    assert redis_client.zscore("vosadmin:bl:concurrent:peak", "1001") == 2


def test_calls_of_a_dead_node_are_forgotten_when_it_restarts(redis_client) -> None:
    run(flushed(lambda c: [c.call_started("1001") for _ in range(2)], node="a"))
    run(flushed(lambda c: c.call_started("1001"), node="b"))
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") == 3

    async def restart_a() -> int:
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        forgotten = await Counters(client, "a").forget_previous_run()
        await client.aclose()
        return forgotten

    assert run(restart_a()) == 1
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") == 1


def test_security_counters_per_minute(redis_client) -> None:
    def build(counters: Counters) -> None:
        counters.security("register_failed", NOW, 2)
        counters.security("unauthorized", NOW)
        counters.gauge("tcp_connections", 7, NOW)

    run(flushed(build))
    assert redis_client.hgetall(security_key(NOW)) == {
        "register_failed": "2",
        "unauthorized": "1",
        "tcp_connections:node1": "7",
    }


def test_tallies_survive_a_redis_outage(redis_client) -> None:
    async def scenario() -> None:
        dead = unreachable_redis()
        counters = Counters(dead, "node1")
        counters.call_attempt("1001", "44", (600, 600), NOW)
        counters.call_started("1001")
        assert not await counters.flush()
        counters.call_attempt("1001", "44", (600, 600), NOW)
        counters.redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        assert await counters.flush()
        await counters.redis.aclose()

    run(scenario())
    assert redis_client.zscore(attempts_key("caller", 600, NOW), "1001") == 2
    assert redis_client.zscore("vosadmin:bl:concurrent:now", "1001") == 1


@pytest.mark.parametrize("interval", [10, 86400])
def test_attempt_keys_expire_after_three_windows(redis_client, interval: int) -> None:
    run(flushed(lambda c: c.call_attempt("1", "2", (interval, interval), NOW)))
    assert redis_client.ttl(attempts_key("caller", interval, NOW)) == max(3 * interval, 60)
