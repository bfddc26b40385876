"""Concurrent abuse: a calling number whose simultaneous calls exceeded the LIMIT since the
last check is listed (strictly more than the limit, unlike the attempt families)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blacklist.checks import run_check
from blacklist.models import DynamicBlacklistEntry, SystemWhitelistEntry
from softswitch.redis_keys import CONCURRENT_NOW_KEY, CONCURRENT_PEAK_KEY
from tests.blacklist.conftest import NOW, configure
from tests.blacklist.engine_counters import call_admitted, call_ended

pytestmark = pytest.mark.django_db


def hold_calls(redis, caller: str, calls: int, node: str = "node1") -> None:
    for _ in range(calls):
        call_admitted(redis, caller, node)


def end_calls(redis, caller: str, calls: int, node: str = "node1") -> None:
    for _ in range(calls):
        call_ended(redis, caller, node)


def listed() -> dict[str, int]:
    entries = DynamicBlacklistEntry.objects.filter(type="concurrent", active=True)
    return dict(entries.values_list("number", "observed"))


def test_limit_none_does_nothing(redis) -> None:
    hold_calls(redis, "8613900000001", 50)
    assert run_check("concurrent", now=NOW, redis=redis).skipped
    assert redis.zscore(CONCURRENT_PEAK_KEY, "8613900000001") == 50
    assert not DynamicBlacklistEntry.objects.exists()


def test_more_than_the_limit_is_listed_exactly_the_limit_is_not(redis) -> None:
    configure("concurrent", limit=10)
    hold_calls(redis, "8613900000011", 11)
    hold_calls(redis, "8613900000010", 10)
    run_check("concurrent", now=NOW, redis=redis)
    assert listed() == {"8613900000011": 11}


def test_a_peak_since_the_last_check_counts_even_if_the_calls_ended(redis) -> None:
    configure("concurrent", limit=3)
    hold_calls(redis, "8613900000001", 3, node="node1")
    hold_calls(redis, "8613900000001", 2, node="node2")
    end_calls(redis, "8613900000001", 5, node="node1")  # more ended than node1 held
    assert redis.zscore(CONCURRENT_NOW_KEY, "8613900000001") == 0
    run_check("concurrent", now=NOW, redis=redis)
    assert listed() == {"8613900000001": 5}


def test_peaks_are_reseeded_from_the_calls_in_progress(redis) -> None:
    configure("concurrent", limit=3)
    hold_calls(redis, "8613900000001", 5)  # over the limit, and stays there
    hold_calls(redis, "8613900000002", 6)
    end_calls(redis, "8613900000002", 4)  # peaked, now 2
    hold_calls(redis, "8613900000003", 2)  # under the limit
    run_check("concurrent", now=NOW, redis=redis)
    assert set(listed()) == {"8613900000001", "8613900000002"}
    assert redis.zrange(CONCURRENT_PEAK_KEY, 0, -1, withscores=True) == [("8613900000001", 5)]

    DynamicBlacklistEntry.objects.update(active=False)  # released by an administrator
    hold_calls(redis, "8613900000003", 2)  # crosses the limit with new calls
    run_check("concurrent", now=NOW + timedelta(seconds=60), redis=redis)
    assert listed() == {"8613900000001": 5, "8613900000003": 4}


def test_a_caller_over_a_lowered_limit_is_listed_without_a_new_call(redis) -> None:
    """Its calls in progress exceed the new LIMIT at the moment of the check."""
    configure("concurrent", limit=10)
    hold_calls(redis, "8613900000008", 8)  # long calls, none started after this
    run_check("concurrent", now=NOW, redis=redis)
    assert listed() == {}
    configure("concurrent", limit=5)
    result = run_check("concurrent", now=NOW + timedelta(seconds=60), redis=redis)
    assert listed() == {"8613900000008": 8}
    assert result.found == 1


def test_a_caller_still_over_the_limit_is_not_listed_twice(redis) -> None:
    configure("concurrent", limit=3)
    hold_calls(redis, "8613900000001", 5)
    run_check("concurrent", now=NOW, redis=redis)
    result = run_check("concurrent", now=NOW + timedelta(seconds=60), redis=redis)
    assert result.found == 1 and result.listed == []
    assert DynamicBlacklistEntry.objects.count() == 1


def test_evidence_and_expiry(redis) -> None:
    configure("concurrent", limit=2)
    hold_calls(redis, "8613900000001", 7)
    run_check("concurrent", now=NOW, redis=redis)
    entry = DynamicBlacklistEntry.objects.get()
    assert entry.expires_at == NOW + timedelta(seconds=86400), "default EXPIRE: 1 day"
    assert (entry.observed, entry.limit, entry.window_seconds) == (7, 2, 60)


def test_white_listed_callers_are_never_listed(redis) -> None:
    configure("concurrent", limit=1)
    SystemWhitelistEntry.objects.create(number="8610", match="prefix")
    hold_calls(redis, "8610000001", 5)
    hold_calls(redis, "8620000001", 5)
    run_check("concurrent", now=NOW, redis=redis)
    assert listed() == {"8620000001": 5}
