"""Duplicated, late and concurrent check runs never create two active entries for one
(number, type): window claims in Redis, then the database's partial unique index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection

from blacklist.checks import run_check
from blacklist.entries import Finding, Listing, list_numbers
from blacklist.models import DynamicBlacklistEntry
from tests.blacklist.conftest import NOW, configure, make_entry
from tests.blacklist.engine_counters import (
    call_admitted,
    call_ended,
    count_attempts,
    count_unanswered,
)
from tests.blacklist.test_malicious_call_checks import REFUSE_INSERTS, TABLE
from tests.helpers import in_threads

INTERVAL = 600


@pytest.mark.django_db
def test_a_duplicated_run_for_the_same_window_does_nothing(redis) -> None:
    configure("malicious_caller", limit=5)
    count_attempts(redis, "caller", "8613900000001", 9, INTERVAL, NOW.timestamp() - INTERVAL)
    first = run_check("malicious_caller", now=NOW, redis=redis)
    assert first.found == 1
    DynamicBlacklistEntry.objects.update(active=False)  # e.g. released by an administrator
    late = run_check("malicious_caller", now=NOW + timedelta(seconds=30), redis=redis)
    assert late.found == 0 and late.listed == []
    assert DynamicBlacklistEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_number_with_an_active_entry_is_not_listed_again(redis) -> None:
    configure("malicious_caller", limit=5)
    make_entry("8613900000001", effective_at=NOW - timedelta(seconds=600))
    count_attempts(redis, "caller", "8613900000001", 9, INTERVAL, NOW.timestamp() - INTERVAL)
    assert run_check("malicious_caller", now=NOW, redis=redis).listed == []
    assert DynamicBlacklistEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_entry_whose_time_is_up_makes_way_for_a_new_one(redis) -> None:
    """Beat's expiry may lag; the engine already stopped blocking, so a new entry is due."""
    configure("malicious_caller", limit=5)
    old = make_entry("8613900000001", effective_at=NOW - timedelta(seconds=3600))
    count_attempts(redis, "caller", "8613900000001", 9, INTERVAL, NOW.timestamp() - INTERVAL)
    assert len(run_check("malicious_caller", now=NOW, redis=redis).listed) == 1
    old.refresh_from_db()
    assert not old.active
    assert DynamicBlacklistEntry.objects.filter(active=True).get().effective_at == NOW


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_an_attempts_check_list_once(redis) -> None:
    configure("malicious_caller", limit=5)
    for number in range(100):
        count_attempts(redis, "caller", f"86139{number:08d}", 9, INTERVAL, NOW.timestamp() - 600)
    results = in_threads(lambda: run_check("malicious_caller", now=NOW, redis=redis))
    assert sorted(result.found for result in results) == [0, 0, 0, 100]
    assert DynamicBlacklistEntry.objects.filter(active=True).count() == 100


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_the_concurrency_check_list_once(redis) -> None:
    configure("concurrent", limit=1)
    for _ in range(3):
        call_admitted(redis, "8613900000001")
    in_threads(lambda: run_check("concurrent", now=NOW, redis=redis))
    assert DynamicBlacklistEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_database_is_the_final_guard_against_racing_inserts() -> None:
    """Two beat processes reading the same counters without claims (e.g. no-answer runs
    re-counted): concurrent inserts of the same numbers leave one active entry each."""
    findings = [Finding(f"4930{number:06d}", 7) for number in range(200)]
    listing = Listing("no_answer", NOW, 172800, 5, 600)
    results = in_threads(lambda: list_numbers(reversed(findings), listing))
    assert sum(len(ids) for ids in results) == 200
    assert DynamicBlacklistEntry.objects.filter(active=True).count() == 200


def count_no_answer_run(redis, number: str) -> None:
    count_unanswered(redis, number, 9)


def peak_at_nine_calls(redis, number: str) -> None:
    for _ in range(9):
        call_admitted(redis, number)
    for _ in range(9):
        call_ended(redis, number)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("entry_type", "count"),
    [("no_answer", count_no_answer_run), ("concurrent", peak_at_nine_calls)],
)
def test_a_failed_run_gives_back_what_it_took(redis, entry_type, count) -> None:
    """The no-answer and concurrency reads take their counts out of Redis: a run whose write
    fails must put them back, or the abuser it found is never listed."""
    configure(entry_type, limit=5)
    count(redis, "8613900000001")
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_INSERTS)
        with pytest.raises(DatabaseError, match="refused"):
            run_check(entry_type, now=NOW, redis=redis)
        cursor.execute(f"DROP TRIGGER refuse ON {TABLE}")
    run_check(entry_type, now=NOW + timedelta(seconds=60), redis=redis)
    entries = DynamicBlacklistEntry.objects.filter(type=entry_type, active=True)
    assert dict(entries.values_list("number", "observed")) == {"8613900000001": 9}
