"""Calls rated and charged through the real engine (SPEC §8.2, §8.3), sipp on both sides:
the fee, the cost and the balance of a call of known length; refusals; the cut when the money
runs out; concurrent calls of one account; a journal replayed after a crash."""

from __future__ import annotations

import shutil
import time
from decimal import Decimal

import pytest

from billing.choices import AccountTypeChoices
from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.models import Account, Cdr, Rate, RateGroup
from billing.rating import rate_call
from softswitch.models import MappingGateway
from tests.engine.harness import requires_sipp, run_sipp, sipp_finished, wait_for
from tests.engine.test_calls import CUSTOMER_IP, call, cdr, gateway_uas, routing_gateway
from vosadmin.core.parameters import update_parameter

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]

CALLEE = "8613800000001"


def rate_group(name: str, prefix: str, fee: str, period: int = 1, **extra) -> RateGroup:
    group = RateGroup.objects.create(name=name)
    Rate.objects.create(rate_group=group, prefix=prefix, period=period, fee=Decimal(fee), **extra)
    return group


@pytest.fixture
def customer_account() -> Account:
    return Account.objects.create(
        account="ACME", balance=Decimal("10"), rate_group=rate_group("retail", "86", "0.01")
    )


@pytest.fixture
def vendor():
    """A routing gateway for 86 that puts 00 in front, with a clearing account rated on it."""
    clearing = Account.objects.create(
        account="CARRIER",
        type=AccountTypeChoices.CLEARING,
        rate_group=rate_group("carrier", "0086", "0.004"),
    )
    return routing_gateway("VENDOR", ["86"], add_prefix="00", clearing_account=clearing)


def customer(account: Account | None) -> MappingGateway:
    return MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP], account=account)


def test_a_call_of_known_length_is_charged_its_fee_and_shows_its_cost(
    engine, customer_account, vendor
) -> None:
    customer(customer_account)
    uas = gateway_uas(vendor)
    assert call(engine(), CALLEE, hold_ms=2500).outcome() == "ANSWERED"
    sipp_finished(uas)
    record = cdr(callee=CALLEE)
    retail = Rate.objects.get(prefix="86")
    expected = rate_call(Decimal(record.hold_time_ms) / 1000, retail, 2)
    assert (record.fee, record.fee_time, record.fee_prefix) == (
        expected.fee,
        expected.fee_time,
        "86",
    )
    assert record.fee == Decimal("0.03")  # 2.5 s and a little: 3 started seconds at 0.01
    cost = rate_call(Decimal(record.hold_time_ms) / 1000, Rate.objects.get(prefix="0086"), 2)
    assert (record.cost, record.cost_prefix) == (cost.fee, "0086")
    assert record.account_id == customer_account.pk
    customer_account.refresh_from_db()
    assert customer_account.balance == Decimal("10") - record.fee


def test_an_origin_without_account_is_admitted_unrated(engine, vendor) -> None:
    customer(None)
    uas = gateway_uas(vendor)
    assert call(engine(), CALLEE, hold_ms=500).outcome() == "ANSWERED"
    sipp_finished(uas)
    record = cdr(callee=CALLEE)
    assert (record.account_id, record.fee, record.fee_prefix) == (None, 0, "")
    assert record.cost_prefix == "0086"  # the vendor is still rated


def test_a_callee_without_a_rate_is_refused(engine, customer_account, vendor) -> None:
    customer(customer_account)
    routing_gateway("UK", ["44"])
    assert call(engine(), "442071234567").outcome() == "FAILED 403"
    record = cdr(callee="442071234567")
    assert (record.end_reason, record.end_direction) == (Reason.NO_RATE, Direction.SERVER)
    assert (record.account_id, record.fee, record.routing_gateway) == (customer_account.pk, 0, "")


def test_an_account_that_cannot_pay_the_first_period_is_refused(engine, vendor) -> None:
    poor = Account.objects.create(
        account="POOR",
        balance=Decimal("0.50"),
        rate_group=rate_group("dear", "86", "1.00", first_period=60, first_fee="0.60"),
    )
    customer(poor)
    assert call(engine(), CALLEE).outcome() == "FAILED 403"
    record = cdr(callee=CALLEE)
    assert (record.end_reason, record.end_direction) == (
        Reason.INSUFFICIENT_BALANCE,
        Direction.SERVER,
    )
    assert record.routing_gateway == ""  # refused before routing
    poor.refresh_from_db()
    assert poor.balance == Decimal("0.50")


def test_a_locked_account_is_refused(engine, customer_account, vendor) -> None:
    customer_account.locked = True
    customer_account.save()
    customer(customer_account)
    assert call(engine(), CALLEE).outcome() == "FAILED 403"
    assert cdr(callee=CALLEE).end_reason == Reason.ACCOUNT_LOCKED


def test_the_switch_cuts_the_call_when_the_money_runs_out(engine, vendor) -> None:
    """0.03 buys 3 s at 0.01 a second: the switch hangs up both sides before the fourth."""
    account = Account.objects.create(
        account="SHORT", balance=Decimal("0.03"), rate_group=rate_group("per-second", "86", "0.01")
    )
    customer(account)
    uas = gateway_uas(vendor)
    started = time.monotonic()
    result = call(engine(), CALLEE, scenario="uac_gateway_call_wait.xml", timeout=30)
    assert result.outcome() == "REMOTE_BYE"
    assert time.monotonic() - started < 10
    assert sipp_finished(uas).logged[-1] == "BYE"  # both sides got the switch's BYE
    record = cdr(callee=CALLEE)
    assert (record.end_reason, record.end_direction) == (
        Reason.BALANCE_EXHAUSTED,
        Direction.SERVER,
    )
    assert 2000 <= record.hold_time_ms <= 3000
    assert (record.fee, record.fee_time) == (Decimal("0.03"), 3)
    account.refresh_from_db()
    assert account.balance == 0


def test_concurrent_calls_of_one_account_never_overdraw_it(engine, vendor) -> None:
    """Five calls at once, 0.15 to spend (balance 0.10, credit 0.05) and the longest call
    (60 s at 0.001/s) costing 0.06: the money is shared by the first calls, the others are
    refused, and the balance stays within the credit limit."""
    update_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL", 60)
    update_parameter("SERVER_BILLING_FEE_PRECISTION", 3)
    account = Account.objects.create(
        account="BUSY",
        balance=Decimal("0.10"),
        credit_limit=Decimal("0.05"),
        rate_group=rate_group("per-second", "86", "0.001"),
    )
    customer(account)
    uas = gateway_uas(vendor, calls=5, timeout=60)
    callees = [f"86138000001{i:02d}" for i in range(5)]
    load = run_sipp(
        "uac_gateway_call.xml",
        engine().address,
        rows=[f"2125550100;{callee};" for callee in callees],
        local_ip=CUSTOMER_IP,
        calls=5,
        rate=50,
        extra=["-d", "3000"],
        timeout=60,
        background=True,
    )
    sipp_finished(load, timeout=60)
    records = wait_for(lambda: len(rows := list(Cdr.objects.all())) == 5 and rows, timeout=20)
    answered = [record for record in records if record.connect_time is not None]
    refused = [record for record in records if record.connect_time is None]
    assert len(answered) >= 2 and refused  # no call took all the money
    assert {record.end_reason for record in refused} == {Reason.INSUFFICIENT_BALANCE}
    assert sum(record.fee for record in answered) <= Decimal("0.15")
    wait_for(lambda: Account.objects.get(pk=account.pk).balance < Decimal("0.10"))
    account.refresh_from_db()
    assert account.balance >= -account.credit_limit
    assert account.balance == Decimal("0.10") - sum(record.fee for record in answered)
    uas.kill()


def test_a_crash_between_journal_and_database_charges_once(
    engine_factory, customer_account, vendor
) -> None:
    """The CDR reaches PostgreSQL, but the engine dies before it records that in the journal's
    offset: the next start replays the line, and the balance moves only once."""
    from tests.proxy import database_proxy

    customer(customer_account)
    proxy, url = database_proxy()
    uas = gateway_uas(vendor)
    try:
        first = engine_factory(env={"DATABASE_URL": url, "SIP_WORKERS": "1"})  # one journal
        proxy.cut()
        assert call(first, CALLEE, hold_ms=1500).outcome() == "ANSWERED"
        sipp_finished(uas)
        journal = first.spool / f"cdr-{first.node}.csv"
        wait_for(lambda: journal.exists() and journal.stat().st_size > 0)
        time.sleep(0.5)  # the writer's round: the line is complete
        unwritten = first.spool / "unwritten.csv"
        shutil.copyfile(journal, unwritten)
        proxy.restore()
        fee = cdr(callee=CALLEE).fee
        assert fee > 0
        wait_for(lambda: journal.stat().st_size == 0)  # committed, compacted
        assert first.stop() == 0
        shutil.copyfile(unwritten, journal)  # as if killed between the COPY and the offset
        (first.spool / f"cdr-{first.node}.offset").write_text("0")
        second = engine_factory(env={"SIP_SPOOL_DIR": str(first.spool), "SIP_WORKERS": "1"})
        wait_for(lambda: journal.stat().st_size == 0, timeout=15)  # replayed
        assert second.stop() == 0
    finally:
        proxy.close()
    assert Cdr.objects.filter(callee=CALLEE).count() == 1
    customer_account.refresh_from_db()
    assert customer_account.balance == Decimal("10") - fee
