"""The README's "Try it with sipp" call against the demo data (issue 11 item 6), through the real
engine: a call from 127.0.0.2 to 999… reaches LOCAL-SIPP-UAS with 999 stripped, and its CDR
shows the customer's fee, the vendor's cost and the margin; the balance pays the fee."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Account
from softswitch.models import RoutingGateway
from tests.engine.harness import free_port, requires_sipp, sipp_finished
from tests.engine.test_calls import CUSTOMER_IP, call, cdr, gateway_uas
from vosadmin.core.demo import create_demo_data

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]


def test_the_readme_sipp_call_has_a_fee_a_cost_and_a_margin(engine) -> None:
    create_demo_data()
    local = RoutingGateway.objects.get(name="LOCAL-SIPP-UAS")
    local.port = free_port()  # not the README's 5090: a running `make run` may have it
    local.save()
    account = Account.objects.get(account="LOCAL-TEST")
    uas = gateway_uas(local)
    assert call(engine(), "999123", source=CUSTOMER_IP, hold_ms=1000).outcome() == "ANSWERED"
    assert sipp_finished(uas).logged[0].startswith("INVITE 123")
    record = cdr(callee="999123", routing_gateway="LOCAL-SIPP-UAS")
    assert (record.account_id, record.fee, record.cost) == (
        account.pk,
        Decimal("0.10"),
        Decimal("0.03"),
    )
    assert (record.fee_prefix, record.cost_prefix, record.margin) == ("999", "", Decimal("0.07"))
    balance = account.balance
    account.refresh_from_db()
    assert account.balance == balance - Decimal("0.10")
