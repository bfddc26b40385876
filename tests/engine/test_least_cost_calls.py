"""Least-cost routing through the real engine (SPEC §8.4): the cheaper vendor gets the call,
failover walks the cost order, a guarded vendor is never tried."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Account, Rate, RateGroup
from softswitch.models import MappingGateway, RoutingGateway
from tests.engine.harness import requires_sipp, sipp_finished
from tests.engine.test_calls import CUSTOMER_IP, call, cdr, gateway_uas, routing_gateway

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]

CALLEE = "8613800000010"


def vendor(name: str, per_minute: str, priority: int, **extra) -> RoutingGateway:
    """A routing gateway for 86… whose clearing account charges `per_minute` (0/60)."""
    rates = RateGroup.objects.create(name=f"{name} deck")
    Rate.objects.create(rate_group=rates, prefix="86", fee=Decimal(per_minute))
    account = Account.objects.create(account=name, type=2, rate_group=rates)
    return routing_gateway(name, ["86"], priority=priority, clearing_account=account, **extra)


def least_cost_customer(**guards) -> MappingGateway:
    return MappingGateway.objects.create(
        name="GW-LCR", ips=[CUSTOMER_IP], routing_policy="least_cost", **guards
    )


def test_the_cheaper_vendor_gets_the_call_whatever_its_priority(engine) -> None:
    least_cost_customer()
    dear = vendor("DEAR", "0.05", priority=1)
    cheap = vendor("CHEAP", "0.01", priority=2)
    unused = gateway_uas(dear)
    answering = gateway_uas(cheap)
    assert call(engine(), CALLEE).outcome() == "ANSWERED"
    assert sipp_finished(answering).logged[0].startswith(f"INVITE {CALLEE}")
    assert cdr(callee=CALLEE).routing_gateway == "CHEAP"
    unused.kill()
    assert sipp_finished(unused).logged == []  # the dearer vendor never got an INVITE


def test_the_cheaper_vendor_fails_and_the_call_fails_over_to_the_next(engine) -> None:
    least_cost_customer()
    dear = vendor("DEAR", "0.05", priority=1)
    cheap = vendor("CHEAP", "0.01", priority=2)
    failing = gateway_uas(cheap, "uas_fail.xml", status="503 Service Unavailable")
    answering = gateway_uas(dear)
    assert call(engine(), CALLEE).outcome() == "ANSWERED"
    assert sipp_finished(failing).logged[0].startswith(f"INVITE {CALLEE}")
    sipp_finished(answering)
    assert cdr(callee=CALLEE).routing_gateway == "DEAR"


def test_a_vendor_over_the_cost_limit_is_never_tried(engine) -> None:
    least_cost_customer(max_cost_per_minute=Decimal("0.02"), rate_check=True)
    dear = vendor("DEAR", "0.05", priority=1)
    cheap = vendor("CHEAP", "0.01", priority=2)
    routing_gateway("UNRATED", ["86"], priority=0)  # no clearing account: skipped by rate check
    unused = gateway_uas(dear)
    failing = gateway_uas(cheap, "uas_fail.xml", status="503 Service Unavailable")
    assert call(engine(), CALLEE).outcome() == "FAILED 503"
    sipp_finished(failing)
    record = cdr(callee=CALLEE)
    assert (record.end_reason, record.routing_gateway) == (503, "CHEAP")
    unused.kill()
    assert sipp_finished(unused).logged == []
