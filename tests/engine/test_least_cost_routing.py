"""Least-cost routing and the cost guards (SPEC §8.4): pure rules, rates given by the test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.choices import CdrEndReasonChoices as EndReason
from billing.rating import RateTable, RateTerms
from softswitch.rules.domain import MappingGatewayAccount
from softswitch.rules.routing import (
    PRIORITY_ONLY,
    CostPolicy,
    MinutePrices,
    RoutePricing,
    plan_route,
    route_pricing,
)
from tests.engine.test_routing_rules import ALWAYS, gateway, names

LEAST_COST = CostPolicy(least_cost=True)


def per_minute(fee: str, first_period: int = 0, first_fee: str = "0", period: int = 60):
    """A rate as decks usually write it (0/60 billing unless told)."""
    return RateTerms("", first_period, Decimal(first_fee), period, Decimal(fee))


def table(rates: dict[str, RateTerms | None]):
    """A vendor_rate lookup: by gateway name; records the numbers it was asked about."""
    asked: list[tuple[str, str]] = []

    def vendor_rate(target, number):
        asked.append((target.name, number))
        return rates.get(target.name)

    vendor_rate.asked = asked
    return vendor_rate


def plan(gateways, rates, policy=LEAST_COST, customer=None, callee="8613800000000", limit=None):
    pricing = RoutePricing(policy, table(rates), customer)
    return plan_route(callee, gateways, ALWAYS, limit, pricing)


CN = [
    gateway("A", ("86",), priority=1),
    gateway("B", ("86",), priority=2),
    gateway("C", ("8613",), priority=3),
]


def test_cheapest_vendor_first_whatever_prefix_length_or_priority() -> None:
    rates = {"A": per_minute("0.05"), "B": per_minute("0.02"), "C": per_minute("0.03")}
    assert names(plan(CN, rates)) == ["B", "C", "A"]


def test_equal_cost_then_priority_then_the_priority_order() -> None:
    gateways = [*CN, gateway("D", ("8613",), priority=2)]
    rates = {name: per_minute("0.02") for name in "ABCD"}
    # same cost: priority 1, then 2 (D has the longer prefix, so before B), then 3
    assert names(plan(gateways, rates)) == ["A", "D", "B", "C"]


def test_billing_increments_compare_per_minute() -> None:
    rates = {
        "A": per_minute("0.006", first_period=6, first_fee="0.006", period=6),  # 0.06 / min
        "B": per_minute("0.0009", period=1),  # 0.054 / min
        "C": per_minute("0.03", first_period=60, first_fee="0.07"),  # first minute 0.07
    }
    assert names(plan(CN, rates)) == ["B", "A", "C"]


def test_vendors_without_a_rate_go_last_in_priority_order() -> None:
    rates = {"C": per_minute("0.09")}
    assert names(plan(CN, rates)) == ["C", "A", "B"]


def test_rate_check_skips_vendors_without_a_rate() -> None:
    rates = {"C": per_minute("0.09")}
    policy = CostPolicy(least_cost=True, rate_check=True)
    assert names(plan(CN, rates, policy)) == ["C"]
    result = plan(CN, {}, policy)
    assert result.choices == () and result.failure is EndReason.NO_GATEWAY_WITHIN_COST


def test_the_vendor_rate_is_looked_up_for_the_number_as_sent() -> None:
    gateways = [gateway("X", ("0086",), strip_digits=2, add_prefix="9")]
    vendor_rate = table({"X": per_minute("0.01")})
    plan_route("008613", gateways, ALWAYS, None, RoutePricing(LEAST_COST, vendor_rate))
    assert vendor_rate.asked == [("X", "98613")]


def test_max_cost_per_minute_skips_dearer_vendors_inclusive_limit() -> None:
    rates = {"A": per_minute("0.05"), "B": per_minute("0.02"), "C": per_minute("0.03")}
    policy = CostPolicy(least_cost=True, max_cost_per_minute=Decimal("0.03"))
    assert names(plan(CN, rates, policy)) == ["B", "C"]


def test_vendors_all_over_the_guards_are_their_own_end_reason() -> None:
    rates = {name: per_minute("0.05") for name in "ABC"}
    policy = CostPolicy(least_cost=True, max_cost_per_minute=Decimal("0.03"))
    assert plan(CN, rates, policy).failure is EndReason.NO_GATEWAY_WITHIN_COST
    pricing = RoutePricing(policy, table(rates), None)
    offline = plan_route("8613800000000", CN, lambda target: False, None, pricing)
    assert offline.failure is EndReason.NO_AVAILABLE_GATEWAY  # unavailable before any price


def test_max_cost_counts_the_dearer_of_first_and_later_minutes() -> None:
    rates = {
        "A": per_minute("0.01", first_period=60, first_fee="0.05"),  # connection-heavy
        "B": per_minute("0.05", first_period=60, first_fee="0"),  # free first minute
        "C": per_minute("0.02"),
    }
    policy = CostPolicy(least_cost=True, max_cost_per_minute=Decimal("0.04"))
    assert names(plan(CN, rates, policy)) == ["C"]


def test_min_margin_against_the_customer_rate() -> None:
    customer = per_minute("0.10")
    rates = {"A": per_minute("0.08"), "B": per_minute("0.07"), "C": per_minute("0.0701")}
    policy = CostPolicy(least_cost=True, min_margin_percent=Decimal("30"))
    # margin: A 20 %, B exactly 30 % (kept), C 29.9 %
    assert names(plan(CN, rates, policy, customer)) == ["B"]


def test_min_margin_holds_on_the_first_and_the_later_minutes() -> None:
    customer = per_minute("0.10", first_period=60, first_fee="0.20")  # 0.20 then 0.10
    rates = {
        "A": per_minute("0.15"),  # first 25 % margin, later -50 %
        "B": per_minute("0.05", first_period=60, first_fee="0.19"),  # first 5 %
        "C": per_minute("0.05", first_period=60, first_fee="0.10"),  # 50 % and 50 %
    }
    policy = CostPolicy(min_margin_percent=Decimal("20"))
    assert names(plan(CN, rates, policy, customer)) == ["C"]


def test_min_margin_is_not_checked_without_a_customer_rate() -> None:
    rates = {"A": per_minute("0.08")}
    policy = CostPolicy(min_margin_percent=Decimal("50"))
    assert names(plan(CN, rates, policy, customer=None)) == ["C", "A", "B"]


@pytest.mark.parametrize(
    ("percent", "kept"), [("0", ["C", "A", "B"]), ("100", ["B"]), ("40", ["C", "B"])]
)
def test_min_margin_bounds(percent, kept) -> None:
    customer = per_minute("0.10")
    rates = {"A": per_minute("0.10"), "B": per_minute("0"), "C": per_minute("0.06")}
    policy = CostPolicy(min_margin_percent=Decimal(percent))
    assert names(plan(CN, rates, policy, customer)) == kept


def test_a_free_customer_rate_leaves_margin_only_for_free_vendors() -> None:
    rates = {"A": per_minute("0.01"), "B": per_minute("0"), "C": per_minute("0.0001")}
    policy = CostPolicy(min_margin_percent=Decimal("10"))
    assert names(plan(CN, rates, policy, per_minute("0"))) == ["B"]


def test_guards_apply_under_the_priority_order_too() -> None:
    rates = {"A": per_minute("0.05"), "B": per_minute("0.02"), "C": per_minute("0.03")}
    policy = CostPolicy(max_cost_per_minute=Decimal("0.04"))
    assert names(plan(CN, rates, policy)) == ["C", "B"]  # longest prefix, then priority


def test_the_priority_policy_without_guards_is_unchanged_and_looks_nothing_up() -> None:
    vendor_rate = table({"A": per_minute("0.05"), "B": per_minute("0.01")})
    pricing = RoutePricing(PRIORITY_ONLY, vendor_rate, per_minute("0.1"))
    priced = plan_route("8613800000000", CN, ALWAYS, None, pricing)
    assert priced == plan_route("8613800000000", CN, ALWAYS, None)
    assert names(priced) == ["C", "A", "B"] and vendor_rate.asked == []


def test_switch_limit_counts_after_the_least_cost_order() -> None:
    rates = {"A": per_minute("0.05"), "B": per_minute("0.02"), "C": per_minute("0.03")}
    assert names(plan(CN, rates, limit=2)) == ["B", "C"]


def test_locked_and_unavailable_gateways_stay_skipped() -> None:
    gateways = [*CN[:2], gateway("C", ("86",), locked=True)]
    rates = {"A": per_minute("0.05"), "B": per_minute("0.02"), "C": per_minute("0.01")}
    pricing = RoutePricing(LEAST_COST, table(rates))
    result = plan_route("86", gateways, lambda g: g.name != "B", None, pricing)
    assert names(result) == ["A"]


def test_no_matching_gateway_is_still_no_route() -> None:
    result = plan(CN, {"A": per_minute("0.01")}, callee="4420")
    assert result.failure is EndReason.NO_ROUTE


def test_the_reordered_choices_keep_their_dialled_numbers() -> None:
    gateways = [
        gateway("X", ("86",), priority=1, add_prefix="77#"),
        gateway("Y", ("86",), priority=2, strip_digits=2),
    ]
    result = plan(gateways, {"X": per_minute("0.05"), "Y": per_minute("0.01")}, callee="8612")
    assert [(c.gateway.name, c.dialled) for c in result.choices] == [("Y", "12"), ("X", "77#8612")]


@pytest.mark.parametrize(
    ("rate", "first", "later"),
    [
        (per_minute("0.6"), "0.6", "0.6"),
        (per_minute("0.006", first_period=6, first_fee="0.006", period=6), "0.06", "0.06"),
        (per_minute("0.006", first_period=30, first_fee="0.03", period=6), "0.06", "0.06"),
        (per_minute("0.5", first_period=0, first_fee="0.1"), "0.6", "0.5"),  # connection fee
        (per_minute("0.01", first_period=300, first_fee="1"), "1", "0.01"),  # 5 min minimum
        (per_minute("0.7", period=90), "0.7", "0.4666666666666666666666666667"),
    ],
)
def test_minute_prices(rate, first, later) -> None:
    prices = MinutePrices.of(rate)
    assert (prices.first, prices.later) == (Decimal(first), Decimal(later))
    assert prices.per_minute == max(Decimal(first), Decimal(later))


def origin(**extra) -> MappingGatewayAccount:
    values = {
        "id": 1,
        "name": "GW",
        "capacity": 0,
        "locked": False,
        "dynamic_blacklist": False,
        "caller_groups": (),
        "callee_groups": (),
    }
    return MappingGatewayAccount(**{**values, **extra})


def test_an_origin_priority_policy_without_guards_needs_no_rates() -> None:
    asked = []
    pricing = route_pricing(origin(), "86", 0.0, lambda account: asked.append(account))
    assert pricing is None and asked == []


def test_route_pricing_uses_the_rates_in_force_at_the_call() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    later = RateTerms("86", 0, Decimal(0), 60, Decimal("0.01"), effective_from=start)
    earlier = RateTerms("86", 0, Decimal(0), 60, Decimal("0.09"))
    tables = {
        7: RateTable([earlier, later]),  # the vendor: 0.09 until start, 0.01 from then
        9: RateTable([RateTerms("", 0, Decimal(0), 60, Decimal("0.2"))]),  # the customer
    }
    customer = origin(account_id=9, routing_policy="least_cost", min_margin_percent=Decimal(5))
    vendor = gateway("V", ("86",), clearing_account_id=7, add_prefix="86", strip_digits=2)
    unrated = gateway("U", ("86",))
    pricing = route_pricing(customer, "8612", start.timestamp(), tables.get)
    assert pricing.policy == CostPolicy(least_cost=True, min_margin_percent=Decimal(5))
    assert pricing.customer_rate.fee == Decimal("0.2")
    assert pricing.vendor_rate(vendor, "8612").fee == Decimal("0.01")
    assert pricing.vendor_rate(unrated, "8612") is None
    before = route_pricing(customer, "8612", start.timestamp() - 1, tables.get)
    assert before.vendor_rate(vendor, "8612").fee == Decimal("0.09")


def test_an_unbilled_origin_has_no_customer_rate() -> None:
    guarded = origin(rate_check=True)
    pricing = route_pricing(guarded, "86", 0.0, lambda account: None)
    assert pricing.customer_rate is None and pricing.policy == CostPolicy(rate_check=True)
