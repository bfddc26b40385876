"""Malicious caller and malicious callee: attempts in the window just ended reach the LIMIT."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection

from blacklist.checks import run_check
from blacklist.models import DynamicBlacklistEntry, SystemWhitelistEntry
from softswitch.redis_keys import checked_key, window_of
from tests.blacklist.conftest import NOW, configure
from tests.blacklist.engine_counters import count_attempts

pytestmark = pytest.mark.django_db

INTERVAL = 600
FAMILIES = [("malicious_caller", "caller"), ("malicious_callee", "callee")]
LAST_WINDOW_AT = NOW.timestamp() - INTERVAL  # a moment inside the window that just ended
TABLE = DynamicBlacklistEntry._meta.db_table
REFUSE_INSERTS = f"""
    CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
    CREATE TRIGGER refuse BEFORE INSERT ON {TABLE} FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse();
"""


def listed(entry_type: str) -> dict[str, int]:
    """Active entries of a type as {number: observed}."""
    entries = DynamicBlacklistEntry.objects.filter(type=entry_type, active=True)
    return dict(entries.values_list("number", "observed"))


@pytest.mark.parametrize(("entry_type", "party"), FAMILIES)
def test_a_family_whose_limit_is_none_does_nothing(redis, entry_type, party) -> None:
    count_attempts(redis, party, "8613900000001", 10_000, INTERVAL, LAST_WINDOW_AT)
    result = run_check(entry_type, now=NOW, redis=redis)
    assert result.skipped.endswith("_LIMIT is None")
    assert not DynamicBlacklistEntry.objects.exists()
    assert not list(redis.scan_iter("vosadmin:bl:checked:*")), "not even a claim is taken"


@pytest.mark.parametrize(("entry_type", "party"), FAMILIES)
def test_attempts_reaching_the_limit_are_listed_and_one_below_are_not(
    redis, entry_type, party
) -> None:
    configure(entry_type, limit=100)
    count_attempts(redis, party, "8613900000100", 100, INTERVAL, LAST_WINDOW_AT)
    count_attempts(redis, party, "8613900000099", 99, INTERVAL, LAST_WINDOW_AT)
    run_check(entry_type, now=NOW, redis=redis)
    assert listed(entry_type) == {"8613900000100": 100}


@pytest.mark.parametrize(("entry_type", "party"), FAMILIES)
def test_an_entry_records_when_and_why(redis, entry_type, party) -> None:
    configure(entry_type, limit=30, expire=7200)
    count_attempts(redis, party, "4420700000001", 42, INTERVAL, LAST_WINDOW_AT)
    run_check(entry_type, now=NOW, redis=redis)
    entry = DynamicBlacklistEntry.objects.get()
    assert (entry.number, entry.type, entry.active) == ("4420700000001", entry_type, True)
    assert entry.effective_at == NOW
    assert entry.expires_at == NOW + timedelta(seconds=7200)
    assert (entry.observed, entry.limit, entry.window_seconds) == (42, 30, INTERVAL)
    assert "42" in entry.evidence() and "600 s" in entry.evidence()


def test_the_window_still_running_is_not_read(redis) -> None:
    configure("malicious_caller", limit=5)
    count_attempts(redis, "caller", "8613900000001", 50, INTERVAL, NOW.timestamp())
    run_check("malicious_caller", now=NOW, redis=redis)
    assert not DynamicBlacklistEntry.objects.exists()
    later = NOW + timedelta(seconds=INTERVAL)
    run_check("malicious_caller", now=later, redis=redis)
    assert listed("malicious_caller") == {"8613900000001": 50}


def test_callers_and_callees_are_counted_apart(redis) -> None:
    configure("malicious_caller", limit=5)
    count_attempts(redis, "callee", "8613900000001", 50, INTERVAL, LAST_WINDOW_AT)
    run_check("malicious_caller", now=NOW, redis=redis)
    assert not DynamicBlacklistEntry.objects.exists()


def test_a_window_is_read_only_after_it_settled(redis) -> None:
    """The engine flushes every 100 ms: a run 0.5 s after a boundary leaves that window alone."""
    configure("malicious_caller", limit=5, interval=10)
    boundary = (window_of(NOW.timestamp(), 10) + 1) * 10
    count_attempts(redis, "caller", "8613900000001", 5, 10, boundary - 1)
    just_after = NOW + timedelta(seconds=boundary - NOW.timestamp() + 0.5)
    run_check("malicious_caller", now=just_after, redis=redis)
    assert not DynamicBlacklistEntry.objects.exists()
    run_check("malicious_caller", now=just_after + timedelta(seconds=10), redis=redis)
    assert listed("malicious_caller") == {"8613900000001": 5}


def test_a_window_skipped_by_a_drifting_beat_is_read_by_the_next_run(redis) -> None:
    configure("malicious_caller", limit=5)
    two_windows_ago = NOW.timestamp() - 2 * INTERVAL
    count_attempts(redis, "caller", "8613900000001", 7, INTERVAL, two_windows_ago)
    run_check("malicious_caller", now=NOW, redis=redis)
    assert listed("malicious_caller") == {"8613900000001": 7}


def test_a_changed_interval_reads_the_keys_counted_with_it(redis) -> None:
    configure("malicious_caller", limit=5, interval=60)
    count_attempts(redis, "caller", "8613900000001", 9, INTERVAL, LAST_WINDOW_AT)
    count_attempts(redis, "caller", "8613900000002", 9, 60, NOW.timestamp() - 60)
    run_check("malicious_caller", now=NOW, redis=redis)
    assert listed("malicious_caller") == {"8613900000002": 9}


@pytest.mark.parametrize(("entry_type", "party"), FAMILIES)
def test_white_listed_numbers_are_never_listed(redis, entry_type, party) -> None:
    configure(entry_type, limit=10)
    SystemWhitelistEntry.objects.create(number="112", match="exact")
    SystemWhitelistEntry.objects.create(number="8675", match="prefix")
    for number in ("112", "8675500000000", "1120", "861234"):
        count_attempts(redis, party, number, 500, INTERVAL, LAST_WINDOW_AT)
    run_check(entry_type, now=NOW, redis=redis)
    assert set(listed(entry_type)) == {"1120", "861234"}


def test_a_run_claims_the_windows_it_read(redis) -> None:
    configure("malicious_caller", limit=5)
    run_check("malicious_caller", now=NOW, redis=redis)
    last = window_of(NOW.timestamp(), INTERVAL) - 1
    for window in (last - 1, last):
        key = checked_key("malicious_caller", INTERVAL, window)
        assert 0 < redis.ttl(key) <= 2 * INTERVAL


def test_a_failed_run_gives_its_claims_back(redis) -> None:
    configure("malicious_caller", limit=5)
    count_attempts(redis, "caller", "8613900000001", 9, INTERVAL, LAST_WINDOW_AT)
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_INSERTS)
        with pytest.raises(DatabaseError, match="refused"):
            run_check("malicious_caller", now=NOW, redis=redis)
        cursor.execute(f"DROP TRIGGER refuse ON {TABLE}")
    run_check("malicious_caller", now=NOW, redis=redis)
    assert listed("malicious_caller") == {"8613900000001": 9}


def test_numbers_too_long_to_store_are_skipped_not_fatal(redis) -> None:
    configure("malicious_caller", limit=5)
    count_attempts(redis, "caller", "9" * 80, 9, INTERVAL, LAST_WINDOW_AT)
    count_attempts(redis, "caller", "sip-user-alice", 9, INTERVAL, LAST_WINDOW_AT)
    run_check("malicious_caller", now=NOW, redis=redis)
    assert listed("malicious_caller") == {"sip-user-alice": 9}
