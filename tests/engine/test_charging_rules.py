"""The money rules of a call (SPEC §8.2, §8.3): rating a finished call's fee and cost, and
what admission asks for, without a database or a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.choices import CdrEndReasonChoices as Reason
from billing.rating import RateTable, RateTerms
from softswitch.rules.cdr import CallRecord
from softswitch.rules.charging import check_money, longest_call, rate_record, unrated
from softswitch.rules.domain import BillingAccount

START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
RETAIL, WHOLESALE = 1, 2
CUSTOMER, VENDOR = 10, 20


def terms(prefix: str, fee: str, period: int = 60, first_period: int = 0, **extra) -> RateTerms:
    return RateTerms(
        prefix, first_period, Decimal(extra.pop("first_fee", 0)), period, Decimal(fee), **extra
    )


TABLES = {
    CUSTOMER: RateTable(
        [terms("44", "0.60"), terms("4420", "0.30", first_period=30, first_fee="0.20")]
    ),
    VENDOR: RateTable([terms("0044", "0.12", period=1)]),
}


def record(hold: float, **fields) -> CallRecord:
    start = START.timestamp()
    values = {
        "call_id": "c",
        "caller": "1001",
        "callee": "442071234567",
        "caller_ip": "192.0.2.1:5060",
        "billing_mode": 1,
        "start_time": start,
        "connect_time": start + 1,
        "stop_time": start + 1 + hold,
        "account_id": CUSTOMER,
        "clearing_account_id": VENDOR,
        "dialled": "00442071234567",
    }
    return CallRecord(**{**values, **fields})


def test_fee_on_the_callee_as_sent_and_cost_on_the_number_sent_to_the_vendor() -> None:
    charges = rate_record(record(61), TABLES.get, 2)
    # 4420: first 30 s for 0.20, then 0.30 per started minute: 61 s → 0.20 + 0.30, 90 s.
    assert (charges.account_id, charges.fee, charges.fee_time) == (CUSTOMER, Decimal("0.50"), 90)
    assert charges.fee_prefix == "4420"
    assert (charges.cost, charges.cost_prefix) == (Decimal("7.32"), "0044")  # 61 × 0.12


def test_longest_prefix_and_the_other_rate() -> None:
    charges = rate_record(record(61, callee="4413"), TABLES.get, 2)
    assert (charges.fee, charges.fee_time, charges.fee_prefix) == (Decimal("1.20"), 120, "44")


def test_unanswered_call_costs_nothing() -> None:
    charges = rate_record(record(0, connect_time=None), TABLES.get, 2)
    assert (charges.fee, charges.fee_time, charges.cost) == (Decimal("0.00"), 0, Decimal("0.00"))
    assert charges.fee_prefix == "4420"


@pytest.mark.parametrize("fields", [{"account_id": None}, {"callee": "33"}, {"account_id": 99}])
def test_without_account_or_rate_the_fee_is_zero(fields) -> None:
    charges = rate_record(record(10.2, **fields), TABLES.get, 2)
    assert (charges.fee, charges.fee_time, charges.fee_prefix) == (Decimal("0.00"), 11, "")
    assert charges.account_id == fields.get("account_id", CUSTOMER)


def test_without_clearing_account_there_is_no_cost() -> None:
    charges = rate_record(record(10, clearing_account_id=None), TABLES.get, 3)
    assert (charges.cost, charges.cost_prefix) == (Decimal("0.000"), "")


def test_rate_in_force_at_the_start() -> None:
    tomorrow = START + timedelta(days=1)
    table = RateTable([terms("44", "0.60"), terms("44", "9.00", effective_from=tomorrow)])
    charges = rate_record(record(60, account_id=CUSTOMER), {CUSTOMER: table}.get, 2)
    assert charges.fee == Decimal("0.60")


def test_unrated_keeps_the_hold_time_as_fee_time() -> None:
    charges = unrated(record(10.4), 4)
    assert (charges.account_id, charges.fee, charges.fee_time) == (None, Decimal("0.0000"), 11)


def account(**fields) -> BillingAccount:
    values = {
        "id": CUSTOMER,
        "type": 0,
        "rate_group_id": RETAIL,
        "credit_limit": Decimal(0),
        "locked": False,
        "balance": Decimal(5),
    }
    return BillingAccount(**{**values, **fields})


def test_admission_asks_for_the_first_period_and_the_longest_call() -> None:
    check = check_money(account(), TABLES[CUSTOMER], "442071234567", START, 7200, 2)
    assert check.refusal is None and check.rate.prefix == "4420"
    assert check.minimum == Decimal("0.20")  # the first 30 s
    assert check.wanted == Decimal("0.20") + 120 * Decimal("0.30")  # 7200 s = 30 s + 120 min


@pytest.mark.parametrize(
    ("paying", "callee", "reason"),
    [
        (None, "44", Reason.ACCOUNT_MISSING),
        (account(locked=True), "44", Reason.ACCOUNT_LOCKED),
        (account(), "33", Reason.NO_RATE),
    ],
)
def test_admission_refusals(paying, callee, reason) -> None:
    assert check_money(paying, TABLES[CUSTOMER], callee, START, 7200, 2).refusal == reason


def test_no_rate_group_is_no_rate() -> None:
    check = check_money(account(rate_group_id=None), None, "44", START, 7200, 2)
    assert check.refusal == Reason.NO_RATE


def test_clearing_accounts_are_never_refused() -> None:
    check = check_money(account(type=2, locked=True), None, "33", START, 7200, 2)
    assert check.unlimited and check.refusal is None


def test_longest_call_is_what_the_money_buys_capped() -> None:
    rate = terms("44", "0.60")
    assert longest_call(Decimal("1.80"), rate, 7200, 2) == 180
    assert longest_call(Decimal("1000"), rate, 7200, 2) == 7200
    assert longest_call(Decimal(0), terms("", "0"), 7200, 2) == 7200  # free: no money limit
