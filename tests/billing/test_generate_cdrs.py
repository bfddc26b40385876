"""`manage.py generate_cdrs`: realistic CDRs, exactly as many as asked, through COPY."""

from __future__ import annotations

import io
import math
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Q

from billing.models import Cdr


@pytest.fixture
def generated(db) -> str:
    out = io.StringIO()
    call_command("generate_cdrs", "--count", "4000", "--days", "2", "--seed", "7", stdout=out)
    return out.getvalue()


def test_exactly_the_count_over_the_days(generated) -> None:
    assert generated.startswith("4000 CDRs over 2 day(s)") and "CDRs/s" in generated
    span = Cdr.objects.aggregate(first=Min("start_time"), last=Max("start_time"))
    assert Cdr.objects.count() == 4000
    assert 1.9 < (span["last"] - span["first"]).total_seconds() / 86400 <= 2
    assert Cdr.objects.values("flow_no").distinct().count() == 4000


def test_a_realistic_mix(generated) -> None:
    modes = Counter(dict(Cdr.objects.values_list("billing_mode").annotate(Count("flow_no"))))
    assert set(modes) == {0, 1, -2}
    assert 0.3 < modes[0] / 4000 < 0.45 and 0.06 < modes[-2] / 4000 < 0.1
    answered = Cdr.objects.filter(connect_time__isnull=False)
    assert 0.35 < answered.count() / 4000 < 0.55
    assert not answered.filter(hold_time_ms=0).exists()
    assert not Cdr.objects.filter(connect_time__isnull=True, hold_time_ms__gt=0).exists()
    reasons = set(Cdr.objects.values_list("end_reason", flat=True))
    assert {200, 486, 487, -1} <= reasons
    illegal = Cdr.objects.filter(billing_mode=-2)
    assert set(illegal.values_list("end_reason", "end_direction").distinct()) == {(-1, 2)}
    assert illegal.values("caller_ip").distinct().count() < illegal.count() / 100  # bursts


def test_repeatable_with_a_seed(db) -> None:
    from billing.generation import generate_rows

    end = datetime(2025, 3, 11, tzinfo=UTC)
    assert list(generate_rows(500, 1, end, seed=3)) == list(generate_rows(500, 1, end, seed=3))


@pytest.mark.parametrize("arguments", [["--count", "0"], ["--count", "10", "--days", "0"]])
def test_bad_arguments(db, arguments) -> None:
    with pytest.raises(CommandError):
        call_command("generate_cdrs", *arguments)


@pytest.fixture
def tariffs(db) -> dict[str, int]:
    """A phone and a mapping gateway with accounts; two vendors, one rewriting the callee."""
    from billing.models import Account, Rate, RateGroup
    from softswitch.models import MappingGateway, Phone, RoutingGateway

    since = datetime(2020, 1, 1, tzinfo=UTC)

    def group(name: str, *rates: tuple[str, int, str, int, str]) -> RateGroup:
        rate_group = RateGroup.objects.create(name=name)
        for prefix, first_period, first_fee, period, fee in rates:
            Rate.objects.create(
                rate_group=rate_group,
                prefix=prefix,
                first_period=first_period,
                first_fee=Decimal(first_fee),
                period=period,
                fee=Decimal(fee),
                effective_from=since,
            )
        return rate_group

    retail = group("Retail", ("", 60, "0.60", 60, "0.60"), ("86", 6, "0.012", 6, "0.012"))
    vendor_rates = group("Alpha", ("986", 0, "0", 1, "0.0007"))
    backup_rates = group("Charlie", ("", 0, "0", 60, "0.05"))
    customer = Account.objects.create(account="C1", rate_group=retail)
    Phone.objects.create(e164="1001", password="x", account=customer)
    MappingGateway.objects.create(name="GW-ACME", ips=["198.51.100.10"], account=customer)
    for name, prefixes, rates, add in (
        ("VENDOR-ALPHA", ["86"], vendor_rates, "9"),
        ("VENDOR-CHARLIE", ["*"], backup_rates, ""),
    ):
        vendor = Account.objects.create(account=name, type=2, rate_group=rates)
        RoutingGateway.objects.create(
            name=name, host="192.0.2.50", prefixes=prefixes, add_prefix=add, clearing_account=vendor
        )
    return {"customer": customer.pk}


def rated_population():
    from billing.generation import Population
    from billing.generation_rating import CdrRating

    return Population(
        phones=["1001", "1002"],  # 1002 has no account: unbilled
        mapping_gateways=[("GW-ACME", "198.51.100.10"), ("GW-OTHER", "203.0.113.30")],
        routing_gateways=[
            ("VENDOR-ALPHA", "192.0.2.50:5060"),
            ("VENDOR-CHARLIE", "192.0.2.70:5060"),
        ],
        rating=CdrRating.from_database(),
    )


VENDOR_DECKS = {"VENDOR-ALPHA": ("Alpha", "9"), "VENDOR-CHARLIE": ("Charlie", "")}


def table(name: str):
    from billing.models import RateGroup
    from billing.rating import RateTable

    return RateTable.for_group(RateGroup.objects.get(name=name).pk)


def expected_charges(cdr: Cdr, account_id: int) -> tuple:
    """(account, fee time, fee, fee prefix, cost, cost prefix) computed from the rates."""
    from billing.rating import rate_call

    seconds = math.ceil(cdr.hold_time_ms / 1000)
    fee_rate = table("Retail").lookup(cdr.callee, cdr.start_time)
    deck, added = VENDOR_DECKS[cdr.routing_gateway]
    cost_rate = table(deck).lookup(added + cdr.callee, cdr.start_time)
    fee, cost = rate_call(seconds, fee_rate, 2), rate_call(seconds, cost_rate, 2)
    return (account_id, fee.fee_time, fee.fee, fee_rate.prefix, cost.fee, cost_rate.prefix)


def charges(cdr: Cdr) -> tuple:
    return (cdr.account_id, cdr.fee_time, cdr.fee, cdr.fee_prefix, cdr.cost, cdr.cost_prefix)


def test_fee_cost_and_account_agree_with_the_rates(tariffs) -> None:
    from billing.generation import generate_cdrs

    generate_cdrs(3000, days=1, seed=11, population=rated_population())
    answered = Cdr.objects.filter(connect_time__isnull=False)
    billed = answered.filter(Q(phone="1001") | Q(mapping_gateway="GW-ACME"))
    assert billed.count() > 300
    for cdr in billed:
        assert charges(cdr) == expected_charges(cdr, tariffs["customer"])
    assert {cdr.cost_prefix for cdr in billed} == {"986", ""}  # both vendors, ALPHA's "9" added
    unbilled = answered.filter(Q(phone="1002") | Q(mapping_gateway="GW-OTHER"))
    assert unbilled.exists()
    assert set(map(charges, unbilled)) == {(None, 0, Decimal(0), "", Decimal(0), "")}
    failed = Cdr.objects.filter(connect_time__isnull=True, billing_mode__in=[0, 1])
    assert not failed.exclude(fee=0, fee_time=0, cost=0).exists()
    assert set(failed.filter(phone="1001").values_list("account_id", flat=True)) == {
        tariffs["customer"]
    }


def test_calls_go_to_a_gateway_serving_the_callee(tariffs) -> None:
    from billing.generation import generate_cdrs

    generate_cdrs(1000, days=1, seed=5, population=rated_population())
    alpha = Cdr.objects.filter(routing_gateway="VENDOR-ALPHA")
    assert alpha.exists() and not alpha.exclude(callee__startswith="86").exists()


def test_without_accounts_every_call_is_unbilled(db) -> None:
    call_command("generate_cdrs", "--count", "500", "--seed", "3", stdout=io.StringIO())
    assert not Cdr.objects.exclude(fee=0, cost=0, account__isnull=True).exists()


def test_generated_hours_are_marked_for_the_gateway_reports(generated) -> None:
    from billing.models import GatewayHour, PendingReportHour
    from billing.reports import aggregate_pending

    hours = set(PendingReportHour.objects.values_list("hour", flat=True))
    assert 48 <= len(hours) <= 49  # two days of hours, the open one included
    aggregate_pending(datetime.now(UTC))
    assert GatewayHour.objects.exists()
    assert PendingReportHour.objects.count() == 1  # the open hour waits until it is over
