"""The checks read exactly what the SIP engine's counter writer (softswitch.engine.counters)
writes: the engine counts calls, Celery's checks list the numbers (ADR 0003 on both sides)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis.asyncio
from django.conf import settings

from blacklist.checks import run_check
from blacklist.models import DynamicBlacklistEntry
from softswitch.engine.counters import Counters
from tests.blacklist.conftest import NOW, configure

pytestmark = pytest.mark.django_db

LAST_WINDOW = NOW.timestamp() - 600


def engine_counts(events: Callable[[Counters], None], node: str = "node1") -> None:
    """Let the engine's Counters record `events`, then flush them the way the engine does."""

    async def flush() -> None:
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        counters = Counters(client, node)
        events(counters)
        assert await counters.flush()
        await client.aclose()

    asyncio.run(flush())


def times(count: int, event: str, number: str) -> Callable[[Counters], None]:
    """`count` engine events of one kind for one number (call_started, call_unanswered…)."""

    def record(counters: Counters) -> None:
        for _ in range(count):
            getattr(counters, event)(number)

    return record


def listed(entry_type: str) -> dict[str, int]:
    entries = DynamicBlacklistEntry.objects.filter(type=entry_type, active=True)
    return dict(entries.values_list("number", "observed"))


def test_attempts_counted_by_the_engine_list_callers_and_callees(redis) -> None:
    configure("malicious_caller", limit=5)
    configure("malicious_callee", limit=6)

    def calls(counters: Counters) -> None:
        for callee in ("4420700000001", "4420700000002", "4420700000001"):
            for _ in range(2):
                counters.call_attempt("8613900000001", callee, (600, 600), LAST_WINDOW)
        for _ in range(2):
            counters.call_attempt("8613900000002", "4420700000001", (600, 600), LAST_WINDOW)

    engine_counts(calls)
    run_check("malicious_caller", now=NOW, redis=redis)
    run_check("malicious_callee", now=NOW, redis=redis)
    assert listed("malicious_caller") == {"8613900000001": 6}
    assert listed("malicious_callee") == {"4420700000001": 6}


def test_no_answer_runs_counted_by_the_engine(redis) -> None:
    configure("no_answer", limit=3)
    engine_counts(times(3, "call_unanswered", "4930000001"))
    engine_counts(times(1, "call_answered", "4930000001"))
    engine_counts(times(2, "call_unanswered", "4930000001"))
    engine_counts(times(4, "call_unanswered", "4930000002"))
    run_check("no_answer", now=NOW, redis=redis)
    assert listed("no_answer") == {"4930000002": 4}


def test_concurrency_counted_by_two_engine_nodes(redis) -> None:
    configure("concurrent", limit=3)
    engine_counts(times(2, "call_started", "8613900000001"))
    engine_counts(times(2, "call_started", "8613900000001"), node="node2")
    engine_counts(times(3, "call_ended", "8613900000001"))
    run_check("concurrent", now=NOW, redis=redis)
    assert listed("concurrent") == {"8613900000001": 4}, "peak across nodes, though 1 is left"

    DynamicBlacklistEntry.objects.update(active=False)
    engine_counts(times(2, "call_started", "8613900000001"))
    run_check("concurrent", now=NOW + timedelta(seconds=60), redis=redis)
    assert listed("concurrent") == {}, "1 left + 2 new = 3: not over the limit"
    engine_counts(times(1, "call_started", "8613900000001"))
    run_check("concurrent", now=NOW + timedelta(seconds=120), redis=redis)
    assert listed("concurrent") == {"8613900000001": 4}
