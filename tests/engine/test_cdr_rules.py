"""Which calls get a CDR (SPEC §4.3) and what the record holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.choices import CdrBillingModeChoices as Mode
from billing.choices import CdrEndDirectionChoices as Direction
from billing.ingest import CdrRow
from billing.models import Cdr
from softswitch.rules.cdr import CallRecord, cdr_row, should_record
from softswitch.rules.charging import unrated

DEFAULTS = {
    "SERVER_BILLING_RECORD_ZERO_HOLD_TIME": 1,
    "SERVER_BILLING_RECORD_ILLEGAL_CALL": 1,
    "SERVER_BILLING_RECORD_SERVER_HANG_UP": 1,
}


def record(**fields) -> CallRecord:
    values = {
        "call_id": "c",
        "caller": "1001",
        "callee": "8613",
        "caller_ip": "192.0.2.1:5060",
        "billing_mode": Mode.MAPPING_GATEWAY,
        "start_time": 1000.0,
        "stop_time": 1010.0,
    }
    return CallRecord(**{**values, **fields})


ANSWERED = {"connect_time": 1002.0, "end_reason": 200}
FAILED = {"end_reason": 486}
ILLEGAL = {"billing_mode": Mode.ILLEGAL_CALL, "end_reason": -1}
SERVER_ENDED = {
    "connect_time": 1002.0,
    "end_reason": -15,
    "ended_by_switch": True,
    "end_direction": Direction.SERVER,
}

SERVER_ENDED_RINGING = {**SERVER_ENDED, "connect_time": None, "end_reason": -16}


@pytest.mark.parametrize(
    ("fields", "parameter", "value", "recorded"),
    [
        (ANSWERED, "SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 0, True),
        (FAILED, "SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 0, False),
        (FAILED, "SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 1, True),
        (ILLEGAL, "SERVER_BILLING_RECORD_ILLEGAL_CALL", 0, False),
        (ILLEGAL, "SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 0, True),  # its own switch governs it
        (SERVER_ENDED, "SERVER_BILLING_RECORD_SERVER_HANG_UP", 0, True),  # answered: charged
        (SERVER_ENDED, "SERVER_BILLING_RECORD_SERVER_HANG_UP", 1, True),
        (SERVER_ENDED_RINGING, "SERVER_BILLING_RECORD_SERVER_HANG_UP", 0, False),
        (SERVER_ENDED_RINGING, "SERVER_BILLING_RECORD_SERVER_HANG_UP", 1, True),
        (SERVER_ENDED_RINGING, "SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 0, False),  # the DDoS
        (SERVER_ENDED_RINGING, "SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 1, True),
    ],
)
def test_recording_switches(fields, parameter, value, recorded) -> None:
    assert should_record(record(**fields), {**DEFAULTS, parameter: value}) is recorded


def test_row_has_hold_time_fee_time_and_rounded_fee() -> None:
    answered = record(connect_time=1002.0, stop_time=1012.4, end_reason=200)
    row = cdr_row(answered, 77, unrated(answered, 2))
    assert row.flow_no == 77 and row.connect_time is not None
    assert (row.hold_time_ms, row.fee_time, row.fee) == (10_400, 11, Decimal("0.00"))
    assert (row.end_reason, row.end_direction, row.billing_mode) == (
        200,
        Direction.SERVER,
        Mode.MAPPING_GATEWAY,
    )
    assert (row.account_id, row.fee_prefix, row.cost, row.cost_prefix) == (
        None,
        "",
        Decimal("0.00"),
        "",
    )


def test_row_has_the_pdd_of_the_first_ringing_or_answer() -> None:
    rang = record(connect_time=1003.0, stop_time=1012.4, end_reason=200)
    assert cdr_row(rang, 1, unrated(rang, 2)).pdd_ms is None  # neither 18x nor 200 seen
    rang.progressed(rang.start_time + 0.8123)
    rang.progressed(rang.start_time + 3.0)  # the answer after the ringing: PDD stays
    assert cdr_row(rang, 1, unrated(rang, 2)).pdd_ms == 812


def test_unanswered_row_has_no_connect_time() -> None:
    unanswered = record(end_reason=487)
    row = cdr_row(unanswered, 1, unrated(unanswered, 2))
    assert row.connect_time is None and row.hold_time_ms == 0 and row.fee_time == 0


def test_the_row_names_every_cdr_column() -> None:
    assert set(CdrRow._fields) == {field.column for field in Cdr._meta.concrete_fields}
