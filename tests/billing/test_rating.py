"""Rating a call (SPEC §8.2): the fee and fee time at the boundaries, at every precision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.rating import (
    Charge,
    RateTerms,
    affordable_seconds,
    rate_call,
    round_fee,
    whole_seconds,
)

PER_MINUTE = RateTerms("", first_period=0, first_fee=Decimal(0), period=60, fee=Decimal("0.6"))
SIX_BY_SIX = RateTerms(
    "86", first_period=30, first_fee=Decimal("0.0500"), period=6, fee=Decimal("0.0123")
)


def test_the_spec_example_61_seconds_at_0_6_per_minute() -> None:
    assert rate_call(61, PER_MINUTE, 2) == Charge(Decimal("1.20"), 120)


@pytest.mark.parametrize("seconds", [0, Decimal(0), 0.0, -1])
def test_zero_seconds_cost_nothing(seconds) -> None:
    assert rate_call(seconds, SIX_BY_SIX, 2) == Charge(Decimal("0.00"), 0)


@pytest.mark.parametrize(
    ("seconds", "fee", "fee_time"),
    [
        (1, "0.0500", 30),  # anything up to the first period costs the first fee
        (29, "0.0500", 30),
        (30, "0.0500", 30),  # exactly the first period
        (31, "0.0623", 36),  # one second past it: one more period
        (36, "0.0623", 36),  # whole periods
        (37, "0.0746", 42),
        (90, "0.1730", 90),  # 30 + 10 × 6
        (Decimal("30.001"), "0.0623", 36),  # fractions of a second round up
        (30.5, "0.0623", 36),
        (Decimal("29.999"), "0.0500", 30),
    ],
)
def test_boundaries_of_the_first_period_and_the_periods(seconds, fee, fee_time) -> None:
    assert rate_call(seconds, SIX_BY_SIX, 4) == Charge(Decimal(fee), fee_time)


def test_a_zero_first_period_bills_from_the_first_second() -> None:
    assert rate_call(1, PER_MINUTE, 2) == Charge(Decimal("0.60"), 60)
    assert rate_call(60, PER_MINUTE, 2) == Charge(Decimal("0.60"), 60)
    assert rate_call(120, PER_MINUTE, 2) == Charge(Decimal("1.20"), 120)


@pytest.mark.parametrize(
    ("precision", "expected"),
    [(0, "0"), (1, "0.1"), (2, "0.06"), (3, "0.062"), (4, "0.0623")],
)
def test_fee_is_rounded_half_up_at_every_precision(precision, expected) -> None:
    # 0.05 + 0.0123 = 0.0623
    assert rate_call(31, SIX_BY_SIX, precision).fee == Decimal(expected)
    assert str(rate_call(31, SIX_BY_SIX, precision).fee) == expected


@pytest.mark.parametrize(
    ("amount", "precision", "expected"),
    [
        ("0.5", 0, "1"),
        ("2.5", 0, "3"),  # half-up, not banker's rounding
        ("0.05", 1, "0.1"),
        ("0.125", 2, "0.13"),
        ("0.0005", 3, "0.001"),
        ("0.00005", 4, "0.0001"),
        ("0.00004", 4, "0.0000"),
    ],
)
def test_half_up_rounding(amount, precision, expected) -> None:
    assert str(round_fee(Decimal(amount), precision)) == expected


def test_precision_outside_0_to_4_is_refused() -> None:
    with pytest.raises(ValueError):
        rate_call(10, PER_MINUTE, 5)
    with pytest.raises(ValueError):
        rate_call(10, PER_MINUTE, -1)


def test_fees_are_decimal_never_float() -> None:
    for seconds in (0, 1, 61, 61.5, Decimal("3600.2")):
        charge = rate_call(seconds, PER_MINUTE, 3)
        assert type(charge.fee) is Decimal and type(charge.fee_time) is int


def test_whole_seconds_rounds_up_without_float_error() -> None:
    assert whole_seconds(61.1) == 62
    assert whole_seconds(61.0) == 61
    assert whole_seconds(Decimal("0.001")) == 1
    assert whole_seconds(60_000 / 1000) == 60
    with pytest.raises(ValueError):
        whole_seconds(float("nan"))


@pytest.mark.parametrize(
    ("available", "precision", "seconds"),
    [
        ("1.20", 2, 120),  # exactly two periods
        ("1.19", 2, 60),
        ("0.59", 2, 0),  # cannot pay the first period
        ("0", 2, 0),
        ("-5", 2, 0),
        ("100", 2, 9960),  # 166 periods: 99.60
    ],
)
def test_affordable_seconds_per_minute(available, precision, seconds) -> None:
    assert affordable_seconds(Decimal(available), PER_MINUTE, precision) == seconds


def test_affordable_seconds_pays_the_first_fee_then_whole_periods() -> None:
    assert affordable_seconds(Decimal("0.0499"), SIX_BY_SIX, 4) == 0
    assert affordable_seconds(Decimal("0.05"), SIX_BY_SIX, 4) == 30
    assert affordable_seconds(Decimal("0.0623"), SIX_BY_SIX, 4) == 36


@pytest.mark.parametrize("precision", range(5))
def test_what_affordable_seconds_buys_never_costs_more_than_the_money(precision) -> None:
    for cents in range(0, 300, 7):
        available = Decimal(cents) / 100
        seconds = affordable_seconds(available, SIX_BY_SIX, precision)
        if seconds:  # what it buys is paid for, and one second more is not
            assert rate_call(seconds, SIX_BY_SIX, precision).fee <= available
            assert rate_call(seconds + 1, SIX_BY_SIX, precision).fee > available


def test_a_first_fee_charged_rounded_down_buys_its_first_period() -> None:
    """0.0140 is charged 0.01 at two places: 0.01 pays the first minute, and what more money
    buys follows from the fees as charged, never a negative or shortened first period."""
    rate = RateTerms("", 60, Decimal("0.0140"), 60, Decimal("0.0100"))
    assert rate_call(60, rate, 2).fee == Decimal("0.01")
    assert affordable_seconds(Decimal("0.01"), rate, 2) == 60
    assert affordable_seconds(Decimal("0.0099"), rate, 2) == 0
    assert affordable_seconds(Decimal("0.02"), rate, 2) == 120  # 0.0240 is charged 0.02
    cheap_later = RateTerms("", 60, Decimal("0.0140"), 6, Decimal("0.0001"))
    assert affordable_seconds(Decimal("0.01"), cheap_later, 2) == 60 + 6 * 9  # 0.0149 → 0.01


MONEY = st.decimals(min_value=0, max_value=100, places=4)


@given(
    available=st.decimals(min_value=-1, max_value=100, places=4),
    first_period=st.integers(0, 120),
    first_fee=MONEY,
    period=st.integers(1, 120),
    fee=MONEY.filter(lambda fee: fee > 0),
    precision=st.integers(0, 4),
)
def test_affordable_seconds_is_the_longest_call_the_money_pays_for(
    available, first_period, first_fee, period, fee, precision
) -> None:
    rate = RateTerms("", first_period, first_fee, period, fee)
    seconds = affordable_seconds(available, rate, precision)
    money = max(available, 0)  # a debt buys what nothing buys
    if seconds == 0:  # refused: not even the shortest call is paid for
        assert rate_call(1, rate, precision).fee > money
        return
    assert rate_call(seconds, rate, precision).fee <= money
    assert rate_call(seconds + 1, rate, precision).fee > money


def test_an_account_in_debt_buys_a_first_period_charged_nothing() -> None:
    """The engine admits a call whose first period is charged 0.00 (0.004 at two places)
    whatever the debt, and cuts it at that period's end; GetAvailableTime must say the same."""
    rate = RateTerms("", 60, Decimal("0.004"), 60, Decimal("0.01"))
    assert affordable_seconds(Decimal("-1"), rate, 2) == 60
    assert affordable_seconds(Decimal("-1"), rate, 3) == 0  # 0.004 at three places: refused


def test_a_free_rate_sets_no_limit() -> None:
    free = RateTerms("", 60, Decimal("0.1"), 60, Decimal(0))
    assert affordable_seconds(Decimal("1"), free, 2) is None
    assert affordable_seconds(Decimal("0.05"), free, 2) == 0
