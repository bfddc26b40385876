"""Routing (SPEC §3.3 step 4, §8.4): which routing gateways a call tries, in which order.

The priority policy orders the gateways whose prefixes match the callee by longest prefix, then
priority. Least-cost routing (VOS3000 "LCR") orders them by what their vendor charges per
minute, then priority; the cost guards of the origin skip vendors that cost too much, leave too
little margin, or have no rate for the number. Costs are compared per minute (`MinutePrices`):

- the *first minute* costs what a call of 60 s costs at the rate (SPEC §8.2, unrounded):
  `first_fee` (when `first_period` ≥ 60 s) or `first_fee + ⌈(60 − first_period) / period⌉ × fee`;
- each *later minute* costs `fee × 60 / period` (the average of the periods after the first);
- a rate's *cost per minute* is the higher of the two: no minute of a call costs more on
  average. `0/60 @ 0.6`, `6/6 @ 0.006` and `30/6 @ 0.03 + 0.006` all cost 0.06 per minute.

Rate lookups are the caller's (`vendor_rate`, `customer_rate`): nothing here touches the
database or the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from billing.choices import CdrEndReasonChoices as EndReason
from billing.rating import MAX_PRECISION, RateTable, RateTerms, rate_call
from softswitch.choices import RoutingPolicyChoices
from softswitch.rules.domain import Origin, RoutingGatewayTarget

MINUTE = 60
HUNDRED = Decimal(100)

VendorRate = Callable[[RoutingGatewayTarget, str], RateTerms | None]
"""The rate the gateway's clearing account charges for a number as sent to that gateway, in
force now; None when the gateway has no clearing account or the account no rate for it."""


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """One gateway to try and the callee number as that gateway gets it."""

    gateway: RoutingGatewayTarget
    dialled: str


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The gateways to try in order, or why there are none (NO_ROUTE, NO_AVAILABLE_GATEWAY or
    NO_GATEWAY_WITHIN_COST)."""

    choices: tuple[RouteChoice, ...]
    failure: EndReason | None = None


@dataclass(frozen=True, slots=True)
class CostPolicy:
    """How an origin's calls weigh vendor cost (SPEC §8.4): the order and the guards.

    `least_cost` orders by vendor cost per minute instead of prefix length; the guards apply
    whatever the order (the defaults guard nothing, so priority routing is then as it always
    was): skip a vendor costing more than `max_cost_per_minute`, one leaving less than
    `min_margin_percent` of the customer's price (checked only when the customer has a rate),
    and, with `rate_check`, one with no rate for the number.
    """

    least_cost: bool = False
    max_cost_per_minute: Decimal | None = None
    min_margin_percent: Decimal | None = None
    rate_check: bool = False

    @classmethod
    def of(cls, origin: Origin) -> CostPolicy:
        """The routing policy and cost guards of a phone or mapping gateway."""
        return cls(
            least_cost=origin.routing_policy == RoutingPolicyChoices.LEAST_COST,
            max_cost_per_minute=origin.max_cost_per_minute,
            min_margin_percent=origin.min_margin_percent,
            rate_check=origin.rate_check,
        )

    @property
    def needs_vendor_rates(self) -> bool:
        """Whether routing must look vendor rates up at all."""
        guarded = self.max_cost_per_minute is not None or self.min_margin_percent is not None
        return self.least_cost or guarded or self.rate_check


PRIORITY_ONLY = CostPolicy()


@dataclass(frozen=True, slots=True)
class RoutePricing:
    """What cost-aware routing needs for one call: the origin's policy, the vendors' rate
    lookup and the customer's rate for the callee (None: unbilled, or no rate)."""

    policy: CostPolicy
    vendor_rate: VendorRate
    customer_rate: RateTerms | None = None


def route_pricing(
    origin: Origin,
    callee: str,
    now: float,
    rate_table_for_account: Callable[[int | None], RateTable | None],
) -> RoutePricing | None:
    """What routing needs to weigh cost for a call of `origin` at `now` (Unix time): None when
    its policy orders by priority and guards nothing, else the rates in force then — the
    vendors' for the number as sent to them, the customer's for the callee as dialled."""
    policy = CostPolicy.of(origin)
    if not policy.needs_vendor_rates:
        return None
    at = datetime.fromtimestamp(now, UTC)

    def vendor_rate(gateway: RoutingGatewayTarget, number: str) -> RateTerms | None:
        table = rate_table_for_account(gateway.clearing_account_id)
        return table.lookup(number, at) if table is not None else None

    table = rate_table_for_account(origin.account_id)
    customer_rate = table.lookup(callee, at) if table is not None else None
    return RoutePricing(policy, vendor_rate, customer_rate)


@dataclass(frozen=True, slots=True)
class MinutePrices:
    """What a rate charges for the first minute of a call and for each later minute."""

    first: Decimal
    later: Decimal

    @classmethod
    def of(cls, rate: RateTerms) -> MinutePrices:
        """The minute prices of a rate, as the module docstring defines them."""
        first = rate_call(MINUTE, rate, MAX_PRECISION).fee  # storage has 4 places: exact
        return cls(first, rate.fee * MINUTE / rate.period)

    @property
    def per_minute(self) -> Decimal:
        """The cost per minute: the dearer of the first and the later minutes."""
        return max(self.first, self.later)

    def leaves_margin(self, price: MinutePrices, percent: Decimal) -> bool:
        """Whether this cost leaves at least `percent` of `price` as margin, on the first
        minute and on the later ones: cost ≤ price × (100 − percent) / 100."""
        keep = (HUNDRED - percent) / HUNDRED
        return self.first <= price.first * keep and self.later <= price.later * keep


def passes_guards(
    cost: MinutePrices | None, policy: CostPolicy, price: MinutePrices | None
) -> bool:
    """Whether a vendor of this cost per minute (None: no rate) may take the call."""
    if cost is None:
        return not policy.rate_check
    limit = policy.max_cost_per_minute
    if limit is not None and cost.per_minute > limit:
        return False
    margin = policy.min_margin_percent
    return margin is None or price is None or cost.leaves_margin(price, margin)


def apply_cost_policy(choices: Sequence[RouteChoice], pricing: RoutePricing) -> list[RouteChoice]:
    """The choices the cost guards keep, cheapest first under least cost (SPEC §8.4).

    `choices` come in priority order (longest prefix, priority, name). Under least cost they are
    sorted by cost per minute, then priority; a tie keeps their priority order, and vendors
    without a rate (kept when `rate_check` is off) go last, in priority order. The vendor's
    rate is looked up for the number as sent to it (after the gateway's strip/add).
    """
    policy = pricing.policy
    if not policy.needs_vendor_rates:
        return list(choices)
    price = MinutePrices.of(pricing.customer_rate) if pricing.customer_rate else None
    priced = []
    for choice in choices:
        rate = pricing.vendor_rate(choice.gateway, choice.dialled)
        cost = MinutePrices.of(rate) if rate is not None else None
        if passes_guards(cost, policy, price):
            priced.append((cost, choice))
    if policy.least_cost:
        priced.sort(key=_least_cost_key)  # stable: ties stay in priority order
    return [choice for _, choice in priced]


def _least_cost_key(item: tuple[MinutePrices | None, RouteChoice]) -> tuple[bool, Decimal, int]:
    cost, choice = item
    per_minute = cost.per_minute if cost is not None else Decimal(0)
    return (cost is None, per_minute, choice.gateway.priority)


def plan_route(
    callee: str,
    gateways: Iterable[RoutingGatewayTarget],
    is_available: Callable[[RoutingGatewayTarget], bool],
    switch_limit: int | None,
    pricing: RoutePricing | None = None,
) -> RoutePlan:
    """Gateways whose prefixes match the callee: longest prefix first, then priority, then name;
    with `pricing`, filtered by the cost guards and, under least cost, cheapest first.

    Locked gateways and those `is_available` refuses (full, or offline by OPTIONS probing) are
    skipped, and so are those the cost guards refuse; at most `switch_limit` gateways are kept
    (None = all), counted after the least-cost order, so failover walks the cheapest ones.
    """
    matched = []
    for gateway in gateways:
        length = gateway.matched_prefix_length(callee)
        if length is not None:
            matched.append((-length, gateway.priority, gateway.name, gateway))
    if not matched:
        return RoutePlan((), EndReason.NO_ROUTE)
    matched.sort(key=lambda item: item[:3])
    usable = [
        RouteChoice(gateway, gateway.dialled_number(callee))
        for *_, gateway in matched
        if not gateway.locked and is_available(gateway)
    ]
    if not usable:
        return RoutePlan((), EndReason.NO_AVAILABLE_GATEWAY)
    if pricing is not None:
        usable = apply_cost_policy(usable, pricing)
    if not usable:
        return RoutePlan((), EndReason.NO_GATEWAY_WITHIN_COST)
    return RoutePlan(tuple(usable[:switch_limit] if switch_limit else usable))
