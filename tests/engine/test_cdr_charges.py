"""Each CDR's fee leaves its account's balance exactly once, in the CDR's own transaction
(SPEC §8.2, ADR 0006): a journal batch replayed after a crash charges nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.ingest import rows_to_csv
from billing.models import Account, Cdr
from softswitch.engine import store
from softswitch.rules.cdr import CallRecord, cdr_row
from softswitch.rules.charging import CallCharges
from tests.helpers import listening
from vosadmin.core.notify import CONFIG_CHANNEL

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2030, 3, 4, 10, 0, tzinfo=UTC).timestamp()


def line(flow_no: int, account: Account | None, fee: str, cost: str = "0") -> bytes:
    record = CallRecord(
        call_id=f"call-{flow_no}",
        caller="1001",
        callee="4420",
        caller_ip="192.0.2.1:5060",
        billing_mode=1,
        start_time=START,
        connect_time=START + 1,
        stop_time=START + 61,
        end_reason=200,
    )
    charges = CallCharges(
        account.pk if account else None, Decimal(fee), 60, "44", Decimal(cost), "0044"
    )
    return rows_to_csv([cdr_row(record, flow_no, charges)]).getvalue().encode()


def test_a_batch_replayed_twice_charges_once() -> None:
    alice = Account.objects.create(account="alice", balance=Decimal("10"))
    bob = Account.objects.create(account="bob", balance=Decimal("1"))
    batch = (
        line(1, alice, "1.20", "0.50")
        + line(2, alice, "0.30")
        + line(3, bob, "2.00")
        + line(4, None, "0.00")
    )
    with listening(CONFIG_CHANNEL) as receive:
        inserted = store.write_cdr_batch(batch, origin="node7")
        (note,) = receive()
    assert inserted.rows == 4
    assert inserted.balances == {alice.pk: Decimal("8.50"), bob.pk: Decimal("-1")}
    assert note == {
        "kind": "account",
        "action": "update",
        "key": sorted([alice.pk, bob.pk]),
        "origin": "node7",  # the node that applies `balances` itself
    }
    replayed = store.write_cdr_batch(batch)  # the crash between COPY and offset: a replay
    assert (replayed.rows, replayed.balances) == (0, {})
    assert store.write_cdr_batch(line(2, alice, "0.30") + line(5, alice, "1.00")).rows == 1

    alice.refresh_from_db()
    bob.refresh_from_db()
    assert alice.balance == Decimal("10") - Decimal("1.20") - Decimal("0.30") - Decimal("1.00")
    assert bob.balance == Decimal("-1")  # a charge is never refused: the call happened
    stored = Cdr.objects.get(flow_no=1)
    assert (stored.account_id, stored.fee, stored.fee_prefix) == (alice.pk, Decimal("1.2"), "44")
    assert (stored.cost, stored.cost_prefix, stored.margin) == (
        Decimal("0.5"),
        "0044",
        Decimal("0.7"),
    )


def test_a_deleted_account_is_not_charged_and_its_cdr_is_kept() -> None:
    gone = Account.objects.create(account="gone")
    gone_id = gone.pk
    batch = line(9, gone, "1.00")
    gone.delete()
    assert store.write_cdr_batch(batch) == (1, {})
    assert Cdr.objects.get(flow_no=9).account_id == gone_id
