"""Values at the edges of what the Web API reads (SPEC §9): dates of the wrong length or past
the calendar's end, lone surrogates, numbers Decimal reads but a script did not mean, null for
an optional field, two creations racing, and what GetAvailableTime answers where the engine
admits. Each gets the answer the SPEC says, never retCode -9 (internal error)."""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import OperationalError

from billing.models import Account, Payment
from billing.partitions import ensure_cdr_partitions
from tests.billing.conftest import cdr, store
from tests.external.conftest import post
from tests.external.test_contract import NOV_26
from vosadmin.external.calls.registry import CALLS, CallContext, WebCall

# --- dates -----------------------------------------------------------------------------------


def test_get_cdr_end_time_9999_means_no_end(web_api, customer) -> None:
    """A script's "until forever" (the last day of the calendar) is no upper bound."""
    ensure_cdr_partitions(NOV_26, NOV_26)
    store(cdr("late", datetime(2025, 11, 26, 8, 0, tzinfo=UTC)))
    reply = web_api("GetCdr", {"beginTime": "20251126", "endTime": "99991231"})
    assert reply["retCode"] == 0 and len(reply["infoCdrs"]) == 1, reply


def test_get_pay_history_end_time_9999_is_not_an_internal_error(web_api, customer) -> None:
    reply = web_api("GetPayHistory", {"account": "C100", "endTime": "99991231235959"})
    assert reply == {"retCode": 0, "infoPayHistorys": []}  # the last second of the calendar: no end


def test_get_cdr_six_digit_month_is_not_january_first(web_api, customer) -> None:
    # "202511" (yyyyMM) is not yyyyMMdd; strptime reads it as 2025-01-01 and answers success
    reply = web_api("GetCdr", {"beginTime": "202511", "endTime": "202511"})
    assert reply["retCode"] == -3 and reply["exception"].startswith("beginTime:"), reply


def test_get_cdr_seven_digits_are_refused(web_api, customer) -> None:
    reply = web_api("GetCdr", {"beginTime": "2025111"})
    assert reply["retCode"] == -3 and reply["exception"].startswith("beginTime:"), reply


def test_get_pay_history_ten_digits_are_refused(web_api, customer) -> None:
    # "2025112612" (yyyyMMddHH) is read as 2025-11-02 06:01:02 and answered with success
    reply = web_api("GetPayHistory", {"account": "C100", "beginTime": "2025112612"})
    assert reply["retCode"] == -3 and reply["exception"].startswith("beginTime:"), reply


def test_get_pay_history_thirteen_digits_are_refused(web_api, customer) -> None:
    reply = web_api("GetPayHistory", {"account": "C100", "beginTime": "2025112683000"})
    assert reply["retCode"] == -3 and reply["exception"].startswith("beginTime:"), reply


def test_get_pay_history_ten_digit_begin_time_hides_payments(web_api, customer) -> None:
    """The consequence: "2025112612" (meant: from Nov 26, 12h) is read as Nov 2 06:01:02, so a
    payment made on Nov 10 is returned with retCode 0."""
    Account.objects.filter(pk=customer.pk).update(balance=Decimal(100))
    payment = Payment.objects.create(
        account=customer, amount=Decimal(1), balance_after=Decimal(101), memo="nov 10"
    )
    Payment.objects.filter(pk=payment.pk).update(created=datetime(2025, 11, 10, tzinfo=UTC))
    reply = web_api(
        "GetPayHistory", {"account": "C100", "beginTime": "2025112612", "endTime": "20251231000000"}
    )
    assert reply["retCode"] != 0 or reply["infoPayHistorys"] == [], reply


# --- strings the database cannot store (lone surrogates from \\ud800 escapes) --------------


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("GetCustomer", {"accounts": ["\ud800"]}, "accounts"),
        ("Pay", {"ownerName": "\ud800", "money": "1"}, "ownerName"),
        ("Pay", {"ownerName": "C100", "money": "1", "memo": "\ud83d"}, "memo"),
        ("CreateCustomer", {"account": "C9", "name": "\udc00"}, "name"),
        ("GetFeeRate", {"feeRateGroup": "\ud800"}, "feeRateGroup"),
        ("GetAvailableTime", {"account": "\ud800", "calleeE164": "86"}, "account"),
        ("GetCdr", {"beginTime": "20251126", "callerE164": "\ud800"}, "callerE164"),
    ],
)
def test_lone_surrogate_is_a_bad_field_not_an_internal_error(
    web_api, customer, name, body, field
) -> None:
    raw = json.dumps(body).encode()  # json.dumps writes \\ud800 escapes: valid JSON text
    reply = web_api(name, raw=raw)
    assert reply["retCode"] == -3, reply
    assert reply["exception"].startswith(f"{field}:"), reply


# --- ModifyCustomer: null is "absent" for every field but feeRateGroup -----------------------


def test_modify_customer_null_fee_rate_group_keeps_the_rate_group(web_api, customer) -> None:
    # A Java client (Jackson) serialises unset fields as null: only the memo is meant to change.
    body = {
        "account": "C100",
        "name": None,
        "limitMoney": None,
        "feeRateGroup": None,
        "type": None,
        "lockType": None,
        "memo": "late payer",
    }
    assert web_api("ModifyCustomer", body) == {"retCode": 0}
    customer.refresh_from_db()
    assert customer.memo == "late payer" and customer.name == "Acme"  # null name: kept
    assert customer.rate_group is not None, "feeRateGroup: null removed the rate group"


# --- numbers whose exponent overflows Decimal ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("Pay", {"ownerName": "C100", "money": "9e999999999999999999"}, "money"),
        ("GetAllCustomers", {"type": "9e999999999999999999"}, "type"),
        ("ModifyCustomer", {"account": "C100", "limitMoney": "9e999999999999999999"}, "limitMoney"),
    ],
)
def test_decimal_overflow_is_a_bad_field(web_api, customer, name, body, field) -> None:
    reply = web_api(name, body)
    assert reply["retCode"] == -3 and reply["exception"].startswith(f"{field}:"), reply


# --- money text that is not a plain decimal number ---------------------------------------------


@pytest.mark.parametrize("money", ["1_000", "١٢", "１２"])
def test_pay_refuses_digit_separators_and_non_ascii_digits(web_api, customer, money) -> None:
    reply = web_api("Pay", {"ownerName": "C100", "money": money})
    customer.refresh_from_db()
    assert reply["retCode"] == -3, reply
    assert customer.balance == Decimal(100)


# --- GetAvailableTime disagrees with the engine's admission (softswitch/rules/charging.py) ---


def test_available_time_of_a_phone_without_account_is_not_a_refusal(web_api, customer) -> None:
    from softswitch.models import Phone
    from vosadmin.core.parameters import get_parameter

    Phone.objects.create(e164="1002", password="pw")  # unbilled: the engine admits its calls
    reply = web_api("GetAvailableTime", {"e164": "1002", "calleeE164": "8613800000000"})
    assert reply["retCode"] == 0
    assert reply["timeRemain"] == get_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL"), reply


def test_available_time_of_a_locked_clearing_account(web_api, customer) -> None:
    from vosadmin.core.parameters import get_parameter

    Account.objects.create(account="V1", type=2, locked=True)  # vendors are never refused
    reply = web_api("GetAvailableTime", {"account": "V1", "calleeE164": "8613800000000"})
    assert reply["timeRemain"] == get_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL"), reply


# --- CreateCustomer twice at once: the loser gets -9, not -5 ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_create_customer_same_code_is_refused_not_internal_error(rule) -> None:
    import threading

    from django.db import connection

    from billing.forms import AccountForm

    barrier = threading.Barrier(2, timeout=10)
    original = AccountForm.is_valid

    def is_valid_then_wait(self):  # both requests validate before either inserts
        valid = original(self)
        barrier.wait()
        return valid

    replies = []

    def create() -> None:
        try:
            replies.append(json.loads(post("CreateCustomer", {"account": "RACE"}).content))
        finally:
            connection.close()

    from unittest import mock

    with mock.patch.object(AccountForm, "is_valid", is_valid_then_wait):
        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(reply["retCode"] for reply in replies) == [-5, 0], replies


def test_under_asgi_get_cdr_surrogate_answers_json(customer, rule) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from vosadmin.external.models import WebAccessRule

    WebAccessRule.objects.create(allowed=["127.0.0.1"], memo="ASGI test client")
    ensure_cdr_partitions(NOV_26, NOV_26)
    raw = json.dumps({"beginTime": "20251126", "callerE164": "\ud800"})

    async def download():
        response = await AsyncClient().post(
            "/external/server/GetCdr", raw, content_type="text/html"
        )
        if not response.streaming:
            return response.status_code, response.content
        return response.status_code, b"".join([chunk async for chunk in response.streaming_content])

    status, body = async_to_sync(download)()
    assert status == 200
    assert json.loads(body)["retCode"] == -3, body


def test_a_stream_whose_query_fails_is_an_envelope(web_api, monkeypatch) -> None:
    """The database failing as GetCdr's query runs (before its first chunk) is retCode -9 in
    an envelope, not a 200 whose body stops short."""

    def failing(context: CallContext) -> Generator[bytes, None, None]:
        raise OperationalError("the server closed the connection unexpectedly")
        yield b""  # a generator, as GetCdr's answer is

    monkeypatch.setitem(CALLS, "GetCdr", WebCall("GetCdr", failing, writes=False))
    assert web_api("GetCdr", {}) == {"retCode": -9, "exception": "Internal error (see the log)."}
