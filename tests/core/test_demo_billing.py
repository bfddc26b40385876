"""`manage.py bootstrap --demo` sets up billing too (issue 11 item 6): tariffs, funded customer
accounts on the demo gateways and phones, vendors' price lists, so that the README's sipp call
has a fee, a cost and a margin; least-cost routing has something to choose from."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db.models import Sum

from billing.models import Account, Cdr, Payment, Rate, RateGroup
from billing.rating import RateTable, rate_call
from softswitch.models import MappingGateway, Phone, RoutingGateway
from softswitch.rules.domain import RoutingGatewayTarget
from softswitch.rules.routing import CostPolicy, RoutePricing, plan_route

pytestmark = pytest.mark.django_db


def now() -> datetime:
    """Rates take effect when they are created: look them up after that."""
    return datetime.now(UTC)


@pytest.fixture(autouse=True)
def demo(settings, tmp_path) -> None:
    settings.ADMIN_PASSWORD_FILE = tmp_path / "admin-password"
    call_command("bootstrap", "--demo", stdout=io.StringIO())


def table(account: Account) -> RateTable:
    return RateTable.for_group(account.rate_group_id)


def targets() -> list[RoutingGatewayTarget]:
    """The demo routing gateways as routing sees them."""
    return [
        RoutingGatewayTarget(
            gateway.pk,
            gateway.name,
            gateway.host,
            gateway.port,
            gateway.transport,
            tuple(gateway.prefixes),
            gateway.priority,
            gateway.capacity,
            gateway.locked,
            gateway.strip_digits,
            gateway.add_prefix,
            gateway.options_check,
        )
        for gateway in RoutingGateway.objects.all()
    ]


def billing_counts() -> tuple[int, ...]:
    models = (RateGroup, Rate, Account, Payment)
    return tuple(model.objects.count() for model in models)


def test_a_retail_and_a_wholesale_tariff_with_a_few_dozen_rates() -> None:
    retail, wholesale = (RateGroup.objects.get(name=name) for name in ("Retail", "Wholesale"))
    assert retail.rates.count() >= 15 and wholesale.rates.count() >= 15
    assert Rate.objects.count() >= 36


def test_every_demo_origin_has_a_funded_customer_account() -> None:
    origins = [*MappingGateway.objects.all(), *Phone.objects.all()]
    assert origins and all(origin.account is not None for origin in origins)
    for origin in origins:
        account = origin.account
        assert account.type == 0 and account.balance > 0 and account.rate_group is not None
        ledger = account.payments.aggregate(total=Sum("amount"))["total"]
        assert ledger == account.balance  # the balance is explained by the payment ledger
    assert {phone.account.rate_group.name for phone in Phone.objects.all()} == {"Retail"}
    gateways = MappingGateway.objects.all()
    assert {gateway.account.rate_group.name for gateway in gateways} == {"Wholesale"}


def test_every_demo_routing_gateway_has_a_vendor_with_rates() -> None:
    for gateway in RoutingGateway.objects.all():
        vendor = gateway.clearing_account
        assert vendor is not None and vendor.type == 2 and vendor.rate_group.rates.exists()


@pytest.mark.parametrize("seconds", [1, 30, 61])
def test_the_readme_sipp_call_has_a_fee_a_cost_and_a_margin(seconds) -> None:
    customer = MappingGateway.objects.get(ips=["127.0.0.2"]).account
    vendor = RoutingGateway.objects.get(name="LOCAL-SIPP-UAS")
    sent = "999123"[vendor.strip_digits :]
    fee_rate = table(customer).lookup("999123", now())
    cost_rate = table(vendor.clearing_account).lookup(sent, now())
    assert fee_rate is not None and cost_rate is not None
    fee, cost = rate_call(seconds, fee_rate, 2).fee, rate_call(seconds, cost_rate, 2).fee
    assert fee > cost > 0


def test_least_cost_prefers_the_cheaper_vendor_per_destination() -> None:
    acme = MappingGateway.objects.get(name="GW-ACME")
    assert acme.routing_policy == "least_cost"
    vendors = {
        gateway.name: table(gateway.clearing_account)
        for gateway in RoutingGateway.objects.select_related("clearing_account")
    }
    customer = table(acme.account)
    policy = CostPolicy(least_cost=True, min_margin_percent=acme.min_margin_percent)

    def route(number: str) -> list[str]:
        pricing = RoutePricing(
            policy,
            lambda gateway, sent: vendors[gateway.name].lookup(sent, now()),
            customer.lookup(number, now()),
        )
        plan = plan_route(number, targets(), lambda g: True, None, pricing)
        return [choice.gateway.name for choice in plan.choices]

    assert route("8613912345678") == ["VENDOR-CHARLIE", "VENDOR-ALPHA"]
    assert route("862012345678") == ["VENDOR-ALPHA", "VENDOR-CHARLIE"]
    assert route("4420123456")[0] == "VENDOR-BRAVO"


def test_wholesale_and_retail_earn_a_margin_on_every_destination() -> None:
    charlie = RoutingGateway.objects.get(name="VENDOR-CHARLIE").clearing_account
    for name in ("Retail", "Wholesale"):
        for rate in RateGroup.objects.get(name=name).rates.exclude(prefix="999"):
            cost = table(charlie).lookup(rate.prefix + "123", now())
            assert rate_call(600, rate, 4).fee > rate_call(600, cost, 4).fee, rate.prefix


def test_a_second_run_adds_no_billing_data() -> None:
    before = billing_counts()
    call_command("bootstrap", "--demo", stdout=io.StringIO())
    assert billing_counts() == before


def test_accounts_and_rate_groups_alone_are_configuration() -> None:
    from vosadmin.core.demo import demo_data_exists

    MappingGateway.objects.all().delete()
    Phone.objects.all().delete()
    RoutingGateway.objects.all().delete()
    assert demo_data_exists()
    Payment.objects.all().delete()
    Account.objects.all().delete()
    assert demo_data_exists()  # the rate groups
    Rate.objects.all().delete()
    RateGroup.objects.all().delete()
    assert not demo_data_exists()


def test_the_demo_cdrs_are_rated() -> None:
    answered = Cdr.objects.filter(connect_time__isnull=False, billing_mode__in=[0, 1])
    assert answered.count() > 500
    assert not answered.filter(fee_time=0).exists()  # every demo origin pays, has a rate
    # a few short 6/6 wholesale calls round to 0.00 at 2 places; the rest cost something
    assert answered.filter(fee__gt=0).count() > 0.8 * answered.count()
    assert not Cdr.objects.filter(connect_time__isnull=True).exclude(fee=0).exists()
    assert not answered.filter(account__isnull=True).exists()
    assert answered.filter(cost__gt=0).count() > 0.8 * answered.count()
    totals = answered.aggregate(fee=Sum("fee"), cost=Sum("cost"))
    assert totals["fee"] > totals["cost"] > 0  # the demo earns a margin


def test_the_demo_cdrs_are_in_the_gateway_report_at_once() -> None:
    from billing.models import GatewayHour

    customers = Cdr.objects.exclude(mapping_gateway="")
    reported = GatewayHour.objects.filter(side="mapping").aggregate(Sum("calls"), Sum("fee"))
    assert customers.exists()
    assert reported["calls__sum"] == customers.count()
    assert reported["fee__sum"] == customers.aggregate(Sum("fee"))["fee__sum"]
