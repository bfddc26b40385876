"""Which rate applies (SPEC §8.2): the longest prefix among the rates in force at the start."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.models import Rate, RateGroup
from billing.rating import RateTable, RateTerms

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TOMORROW = NOW + timedelta(days=1)
LAST_YEAR = NOW - timedelta(days=365)


def rate(prefix: str, fee: str, start: datetime = LAST_YEAR, end: datetime | None = None):
    return RateTerms(prefix, 0, Decimal(0), 60, Decimal(fee), start, end)


def test_longest_prefix_wins() -> None:
    table = RateTable([rate("", "9"), rate("86", "2"), rate("8613", "1"), rate("861", "3")])
    assert table.lookup("8613912345678", NOW).prefix == "8613"
    assert table.lookup("8614912345678", NOW).prefix == "861"
    assert table.lookup("8620000", NOW).prefix == "86"
    assert table.lookup("4420700000", NOW).prefix == ""


def test_the_empty_prefix_matches_every_number_and_none_means_no_rate() -> None:
    assert RateTable([rate("", "1")]).lookup("1", NOW).prefix == ""
    assert RateTable([rate("", "1")]).lookup("", NOW).prefix == ""
    assert RateTable([rate("44", "1")]).lookup("33123", NOW) is None
    assert RateTable([]).lookup("33123", NOW) is None


def test_a_rate_that_starts_tomorrow_is_not_used_today_the_one_it_replaces_is() -> None:
    table = RateTable([rate("44", "0.10"), rate("44", "0.08", start=TOMORROW)])
    assert table.lookup("4420", NOW).fee == Decimal("0.10")
    assert table.lookup("4420", TOMORROW).fee == Decimal("0.08")
    assert table.lookup("4420", TOMORROW - timedelta(microseconds=1)).fee == Decimal("0.10")


def test_an_ended_rate_is_not_used_and_a_shorter_prefix_in_force_takes_over() -> None:
    table = RateTable([rate("", "0.50"), rate("44", "0.10", end=NOW)])
    assert table.lookup("4420", NOW - timedelta(seconds=1)).fee == Decimal("0.10")
    assert table.lookup("4420", NOW).fee == Decimal("0.50")  # effective_to is exclusive


def test_a_rate_not_yet_started_leaves_the_number_unrated() -> None:
    assert RateTable([rate("44", "0.10", start=TOMORROW)]).lookup("4420", NOW) is None


def test_after_a_temporary_rate_ends_the_open_ended_one_applies_again() -> None:
    promotion = rate("44", "0.01", start=NOW, end=TOMORROW)
    table = RateTable([rate("44", "0.10"), promotion])
    assert table.lookup("44", NOW).fee == Decimal("0.01")
    assert table.lookup("44", TOMORROW).fee == Decimal("0.10")


def test_time_zones_compare_as_instants() -> None:
    from zoneinfo import ZoneInfo

    shanghai_midnight = datetime(2026, 3, 11, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # 16:00 UTC
    table = RateTable([rate("86", "0.10"), rate("86", "0.05", start=shanghai_midnight)])
    assert table.lookup("86", datetime(2026, 3, 10, 15, 59, tzinfo=UTC)).fee == Decimal("0.10")
    assert table.lookup("86", datetime(2026, 3, 10, 16, 0, tzinfo=UTC)).fee == Decimal("0.05")


def test_a_100000_rate_group_is_looked_up_in_microseconds() -> None:
    rates = [rate(str(1_000_000 + n), "0.01") for n in range(100_000)]
    table = RateTable([*rates, rate("", "1")])
    numbers = [f"{1_000_000 + n * 7 % 100_000}555123" for n in range(20_000)]
    started = time.perf_counter()
    for number in numbers:
        assert table.lookup(number, NOW) is not None
    per_lookup = (time.perf_counter() - started) / len(numbers)
    assert per_lookup < 100e-6, f"{per_lookup * 1e6:.1f} µs per lookup"


def test_for_group_loads_a_groups_rates_from_the_database(db) -> None:
    group, other = RateGroup.objects.create(name="Retail"), RateGroup.objects.create(name="B")
    Rate.objects.create(rate_group=group, prefix="44", fee=Decimal("0.1"), effective_from=LAST_YEAR)
    Rate.objects.create(rate_group=other, prefix="4420", fee=Decimal("9"), effective_from=LAST_YEAR)
    found = RateTable.for_group(group.pk).lookup("442071234567", NOW)
    assert (found.prefix, found.fee) == ("44", Decimal("0.1000"))
