"""Rating generated CDRs as the engine rates real ones (SPEC §8.2, `billing.rating.rate_call`).

`CdrRating.from_database` reads who pays for each phone and mapping gateway (its account and
that account's rate group) and what each routing gateway's clearing account charges; the
generator then gives every generated call of a known origin its account, and every answered
one its fee and fee prefix (the callee as the caller sent it, at the customer's rates) and its
cost and cost prefix (the number as sent to the vendor, after strip/add, at the vendor's
rates). Origins and vendors the database does not know are unbilled: fee 0, cost 0, no account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from billing.rating import RateTable, RateTerms, rate_call

NO_CHARGE = (0, Decimal(0), "")


@dataclass(frozen=True, slots=True)
class Customer:
    """Who pays for an origin's calls, and at which rates."""

    account_id: int
    rates: RateTable


@dataclass(frozen=True, slots=True)
class Vendor:
    """A routing gateway's price list and how it rewrites the callee."""

    rates: RateTable
    prefixes: tuple[str, ...] = ("*",)
    strip_digits: int = 0
    add_prefix: str = ""

    def serves(self, callee: str) -> bool:
        """Whether one of the gateway's prefixes matches the callee ("*" matches all)."""
        return any(prefix == "*" or callee.startswith(prefix) for prefix in self.prefixes)

    def dialled(self, callee: str) -> str:
        """The callee as sent to the gateway."""
        return self.add_prefix + callee[self.strip_digits :]


@dataclass
class CdrRating:
    """Customers by origin name (phone number or mapping gateway name), vendors by routing
    gateway name, and the fee precision (SERVER_BILLING_FEE_PRECISTION)."""

    customers: dict[str, Customer] = field(default_factory=dict)
    vendors: dict[str, Vendor] = field(default_factory=dict)
    precision: int = 2

    def account_id(self, origin: str) -> int | None:
        """The account charged for the origin's calls; None when it is unbilled."""
        customer = self.customers.get(origin)
        return customer.account_id if customer else None

    def fee(
        self, origin: str, callee: str, start: datetime, seconds: int
    ) -> tuple[int, Decimal, str]:
        """(fee time, fee, fee prefix) of a call of `seconds` from the origin."""
        customer = self.customers.get(origin)
        if customer is None:
            return NO_CHARGE
        return self._charge(customer.rates.lookup(callee, start), seconds)

    def cost(self, route: str, callee: str, start: datetime, seconds: int) -> tuple[Decimal, str]:
        """(cost, cost prefix) of a call of `seconds` sent to the routing gateway."""
        vendor = self.vendors.get(route)
        if vendor is None:
            return NO_CHARGE[1:]
        _, cost, prefix = self._charge(vendor.rates.lookup(vendor.dialled(callee), start), seconds)
        return cost, prefix

    def serves(self, route: str, callee: str) -> bool:
        """Whether the routing gateway would take the callee (unknown gateways take all)."""
        vendor = self.vendors.get(route)
        return vendor is None or vendor.serves(callee)

    def _charge(self, rate: RateTerms | None, seconds: int) -> tuple[int, Decimal, str]:
        if rate is None:
            return NO_CHARGE
        charge = rate_call(seconds, rate, self.precision)
        return charge.fee_time, charge.fee, rate.prefix

    @classmethod
    def from_database(cls) -> CdrRating:
        """The accounts, rate groups and clearing accounts of the configuration, and the fee
        precision parameter (a few queries; every rate group's table is built once)."""
        from billing.models import RateGroup
        from softswitch.models import MappingGateway, Phone, RoutingGateway
        from vosadmin.core.parameters.resolver import get_parameter

        tables = {group.pk: RateTable.for_group(group.pk) for group in RateGroup.objects.all()}
        customers = {}
        for model, name in ((Phone, "e164"), (MappingGateway, "name")):
            for origin in model.objects.filter(account__rate_group__isnull=False).values(
                name, "account_id", "account__rate_group_id"
            ):
                table = tables[origin["account__rate_group_id"]]
                customers[origin[name]] = Customer(origin["account_id"], table)
        vendors = {
            gateway.name: Vendor(
                tables[gateway.clearing_account.rate_group_id],
                tuple(gateway.prefixes),
                gateway.strip_digits,
                gateway.add_prefix,
            )
            for gateway in RoutingGateway.objects.filter(
                clearing_account__rate_group__isnull=False
            ).select_related("clearing_account")
        }
        return cls(customers, vendors, get_parameter("SERVER_BILLING_FEE_PRECISTION"))
