"""Demo billing data (issue 11): tariffs, customers with balances, vendors with price lists.

`vosadmin.core.demo` calls `create_billing_demo` after it has created the demo gateways and
phones, so that a call made with the README's sipp commands gets a fee, a cost and a margin:

- a *Retail* rate group (per-minute billing, 60/60) on five phone accounts and a *Wholesale*
  group (6/6 billing) on the mapping gateways' accounts, each with a rate for every demo
  destination, both priced as a markup on what the vendors charge;
- a clearing account per routing gateway with its own price list: ALPHA (China, Hong Kong)
  and BRAVO (UK, Germany, France) are cheap, CHARLIE (every number, the backup) is dearer
  except on Chinese mobiles, where least-cost routing prefers it; LOCAL-SIPP-UAS takes any
  number (it gets the callee after its 3-digit strip);
- balances paid in through the payment ledger, so the accounts' history explains them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing.choices import AccountTypeChoices
from billing.models import Account, Rate, RateGroup
from billing.payments import make_payment
from softswitch.choices import RoutingPolicyChoices
from softswitch.models import MappingGateway, Phone, RoutingGateway

CENT = Decimal("0.0001")  # storage precision of money
# In force long before the demo's generated CDRs (two days back), so they are rated too.
RATES_FROM = datetime(2020, 1, 1, tzinfo=UTC)
# What carriers charge per minute for each demo destination: (prefix, area, cost per minute).
DESTINATIONS = [
    ("1", "USA and Canada", "0.0050"),
    ("44", "United Kingdom", "0.0080"),
    ("447", "United Kingdom mobile", "0.0250"),
    ("49", "Germany", "0.0090"),
    ("4915", "Germany mobile", "0.0300"),
    ("33", "France", "0.0100"),
    ("336", "France mobile", "0.0280"),
    ("86", "China", "0.0120"),
    ("8613", "China mobile", "0.0110"),
    ("852", "Hong Kong", "0.0150"),
    ("91", "India", "0.0180"),
    ("234", "Nigeria", "0.0900"),
    ("880", "Bangladesh", "0.0350"),
    ("7", "Russia", "0.0200"),
    ("62", "Indonesia", "0.0400"),
    ("63", "Philippines", "0.1000"),
    ("55", "Brazil", "0.0150"),
]
RETAIL_MARKUP = Decimal(3)
WHOLESALE_MARKUP = Decimal("1.5")
# The README's sipp calls (999…, to LOCAL-SIPP-UAS, which costs 0.03 a minute) are billed per
# minute from the first second, so that even a call of a second shows a fee at 2 places.
SIPP_TEST = ("999", "Demo: sipp (see README)")
SIPP_TEST_PRICES = {"Retail": Decimal("0.20"), "Wholesale": Decimal("0.10")}
# Vendors: routing gateway → (the prefixes of its price list, its markup on the carrier cost,
# overrides); a None prefix list means every demo destination.
VENDORS = {
    "VENDOR-ALPHA": (("86", "8613", "852"), Decimal(1), {"8613": Decimal("1.3")}),
    "VENDOR-BRAVO": (("44", "447", "49", "4915", "33", "336"), Decimal(1), {}),
    "VENDOR-CHARLIE": (None, Decimal("1.2"), {"8613": Decimal("0.9")}),
}
LOCAL_VENDOR = "LOCAL-SIPP-UAS"  # the README's sipp UAS: any number it gets, 0.03 a minute
CUSTOMERS = {  # mapping gateway → (account code, opening balance, credit limit)
    "GW-ACME": ("ACME", Decimal(500), Decimal(100)),
    "GW-GLOBALTEL": ("GLOBALTEL", Decimal(2000), Decimal(0)),
    "GW-LOCAL-TEST": ("LOCAL-TEST", Decimal(100), Decimal(0)),
}
PHONE_BALANCE = Decimal(20)


@dataclass(frozen=True)
class Billing:
    """How rates are written: per minute (60/60) or per 6 seconds after the first 6 (6/6)."""

    first_period: int
    period: int

    def rate(self, group: RateGroup, prefix: str, area: str, per_minute: Decimal) -> Rate:
        """A rate of `per_minute`, spread over this billing's periods."""
        fee = (per_minute * self.period / 60).quantize(CENT)
        first_fee = (per_minute * self.first_period / 60).quantize(CENT)
        return demo_rate(
            group,
            prefix,
            area,
            first_period=self.first_period,
            first_fee=first_fee,
            period=self.period,
            fee=fee,
        )


def demo_rate(group: RateGroup, prefix: str, area: str, **terms: Any) -> Rate:
    """An unsaved demo rate, in force since RATES_FROM."""
    return Rate(rate_group=group, prefix=prefix, area_name=area, effective_from=RATES_FROM, **terms)


PER_MINUTE = Billing(first_period=60, period=60)
PER_SIX_SECONDS = Billing(first_period=6, period=6)


def create_billing_demo() -> dict[str, int]:
    """Rate groups, rates, accounts and payments for the demo gateways and phones."""
    retail = tariff("Retail", "Phones: per minute", PER_MINUTE, RETAIL_MARKUP)
    wholesale = tariff("Wholesale", "Mapping gateways: 6/6", PER_SIX_SECONDS, WHOLESALE_MARKUP)
    customers = attach_customers(retail, wholesale)
    vendors = attach_vendors()
    return {
        "rate groups": RateGroup.objects.count(),
        "rates": Rate.objects.count(),
        "customer accounts": customers,
        "clearing accounts": vendors,
    }


def price_list(
    name: str,
    memo: str,
    billing: Billing,
    markup: Decimal,
    prefixes: Iterable[str] | None = None,
    overrides: dict[str, Decimal] | None = None,
) -> RateGroup:
    """A rate group charging `markup` × the carrier cost for the demo destinations (those of
    `prefixes`, or all), with per-prefix markups in `overrides`."""
    group = RateGroup.objects.create(name=name, memo=memo)
    overrides = overrides or {}
    Rate.objects.bulk_create(
        billing.rate(group, prefix, area, Decimal(cost) * overrides.get(prefix, markup))
        for prefix, area, cost in DESTINATIONS
        if prefixes is None or prefix in prefixes
    )
    return group


def tariff(name: str, memo: str, billing: Billing, markup: Decimal) -> RateGroup:
    """A customers' rate group: every demo destination, and the sipp test prefix per minute."""
    group = price_list(name, memo, billing, markup)
    prefix, area = SIPP_TEST
    demo_rate(group, prefix, area, fee=SIPP_TEST_PRICES[name]).save()
    return group


def attach_customers(retail: RateGroup, wholesale: RateGroup) -> int:
    """A funded customer account on every demo mapping gateway (wholesale) and phone (retail);
    the wholesale customer ACME routes by least cost with a 10 % margin floor."""
    created = 0
    for gateway in MappingGateway.objects.filter(name__in=CUSTOMERS):
        code, balance, credit_limit = CUSTOMERS[gateway.name]
        gateway.account = customer(code, gateway.name, wholesale, balance, credit_limit)
        if code == "ACME":
            gateway.routing_policy = RoutingPolicyChoices.LEAST_COST
            gateway.min_margin_percent = Decimal(10)
        gateway.save()
        created += 1
    for phone in Phone.objects.all():
        phone.account = customer(f"RETAIL-{phone.e164}", "Retail", retail, PHONE_BALANCE)
        phone.save()
        created += 1
    return created


def customer(
    code: str, name: str, rates: RateGroup, balance: Decimal, credit_limit: Decimal = Decimal(0)
) -> Account:
    """A customer account, funded through the payment ledger."""
    account = Account.objects.create(
        account=code, name=name, rate_group=rates, credit_limit=credit_limit
    )
    make_payment(account.pk, balance, "Demo opening balance", None)
    return account


def attach_vendors() -> int:
    """A clearing account with its price list on every demo routing gateway."""
    created = 0
    for gateway in RoutingGateway.objects.filter(name__in=[*VENDORS, LOCAL_VENDOR]):
        gateway.clearing_account = Account.objects.create(
            account=gateway.name,
            name=f"Vendor {gateway.name}",
            type=AccountTypeChoices.CLEARING,
            rate_group=vendor_price_list(gateway.name),
        )
        gateway.save()
        created += 1
    return created


def vendor_price_list(name: str) -> RateGroup:
    """The price list of a demo vendor (per minute)."""
    if name == LOCAL_VENDOR:
        group = RateGroup.objects.create(name=f"Vendor {name}", memo="Any number")
        area = "Any number (sipp UAS)"
        demo_rate(group, "", area, fee=Decimal("0.03")).save()
        return group
    prefixes, markup, overrides = VENDORS[name]
    return price_list(f"Vendor {name}", "Price list", PER_MINUTE, markup, prefixes, overrides)
